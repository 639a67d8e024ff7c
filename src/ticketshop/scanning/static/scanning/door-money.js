/* Money due at the door, on the scanner page: an order exchanged to dearer
 * tickets owes the difference, shown once per order (on its first ticket
 * scanned at the door) with the amount, and recorded here as paid in cash or
 * with Swish at the door.
 *
 * Online the validate answer carries due_at_door, order_reference and
 * first_of_order; offline the door list's orders_due gives the amount per
 * order with its tickets and how many were used. Recording a payment needs
 * the server (POST /scan/collect/): offline the buttons are replaced by a
 * note to record it once back online or in the back office.
 *
 * Kept apart from scan.js, which calls show()/hide(): exposed as
 * window.DoorMoney. */
(function () {
  "use strict";

  var M = JSON.parse(document.getElementById("scan-messages").textContent);
  var script = document.currentScript;
  var COLLECT_API = script.dataset.collect;
  var LANGUAGE = script.dataset.language || document.documentElement.lang;
  var $ = function (id) { return document.getElementById(id); };
  // What the screen asks for now: {ticket, order, amount, key, password}.
  var current = null;

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function kronor(amount) {
    var text = String(amount);
    return LANGUAGE === "sv" ? text.replace(".", ",") : text;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function hide() {
    current = null;
    var box = $("result-due");
    if (box) { box.hidden = true; }
    $("result").classList.remove("due");
  }

  function render(due, online) {
    var box = $("result-due");
    $("result").classList.add("due");
    $("result").dataset.due = due.amount;
    $("due-title").textContent = fmt(M.due_title, { amount: kronor(due.amount) });
    $("due-detail").textContent = fmt(M.due_detail, { order: due.order });
    $("due-status").textContent = "";
    $("due-cash").disabled = false;
    $("due-swish").disabled = false;
    $("due-actions").hidden = !online;
    $("due-offline-note").hidden = online;
    box.hidden = false;
  }

  /* Keep the offline list's orders_due in step with what the server said:
   * an order's ticket admitted online is its first, and one settled owes
   * nothing, for the next outage. */
  function noteOnline(body, door) {
    var orders = door && door.list && door.list.orders_due;
    var entry = orders && body && orders[body.order_reference];
    if (!entry) { return; }
    if (!(Number(body.due_at_door) > 0)) {
      delete orders[body.order_reference];
    } else {
      entry.due_at_door = body.due_at_door;
      if (body.admitted) { entry.used += 1; }
    }
    window.DoorOffline.saveDoor(door);
  }

  /* After an online answer: the amount on the order's first ticket. */
  function showOnline(body, password, door) {
    hide();
    if (body && body.status === "PAID") { noteOnline(body, door); }
    if (!body || body.status !== "PAID" || !body.first_of_order) { return; }
    if (!(Number(body.due_at_door) > 0)) { return; }
    current = {
      ticket: body.external_id, order: body.order_reference, amount: body.due_at_door,
      key: newKey(), password: password, door: door
    };
    render(current, true);
  }

  /* After an offline decision from the door list (not for a red screen). */
  function showOffline(list, ticketId, used) {
    hide();
    var orders = (list && list.orders_due) || {};
    var found = null;
    Object.keys(orders).forEach(function (reference) {
      if (orders[reference].tickets.indexOf(ticketId) !== -1) { found = reference; }
    });
    if (!found) { return; }
    var order = orders[found];
    var first = order.used === 0;
    if (used) { order.used += 1; }
    if (!first || !(Number(order.due_at_door) > 0)) { return; }
    current = { ticket: ticketId, order: found, amount: order.due_at_door };
    render(current, false);
  }

  function collect(method) {
    if (!current || !current.password) { return; }
    var asked = current;
    $("due-cash").disabled = true;
    $("due-swish").disabled = true;
    $("due-status").textContent = M.due_sending;
    fetch(COLLECT_API, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      body: JSON.stringify({
        password: asked.password, external_id: asked.ticket, amount: asked.amount,
        method: method, key: asked.key
      })
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (current !== asked) { return; }
        if (response.status === 200) {
          $("due-title").textContent = fmt(method === "CASH" ? M.due_paid_cash : M.due_paid_swish, { amount: kronor(asked.amount) });
          $("due-actions").hidden = true;
          $("due-status").textContent = "";
          $("result").classList.remove("due");
          $("result").dataset.due = "0";
          noteOnline({ order_reference: asked.order, due_at_door: body && body.due_at_door }, asked.door);
          return;
        }
        var text = M.due_failed;
        if (response.status === 409 && body === "NothingDueAtDoor") { text = M.due_nothing; }
        if (response.status === 409 && body && body.error === "MoreThanDueAtDoor") {
          text = fmt(M.due_less, { amount: kronor(body.due_at_door) });
        }
        $("due-status").textContent = text;
        $("due-cash").disabled = false;
        $("due-swish").disabled = false;
      });
    }, function () {
      if (current !== asked) { return; }
      $("due-status").textContent = M.due_failed;
      $("due-cash").disabled = false;
      $("due-swish").disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("due-cash").addEventListener("click", function () { collect("CASH"); });
    $("due-swish").addEventListener("click", function () { collect("SWISH"); });
  });

  window.DoorMoney = { showOnline: showOnline, showOffline: showOffline, hide: hide };
})();
