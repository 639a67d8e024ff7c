/* The event page: choose tickets, reserve them, count down the hold, start
   the Swish payment. Everything goes through the public API. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { config, fmt, api, errorCode, money, dateTime, availability, el, show, focus, sleep } = Shop;
  const $ = (id) => document.getElementById(id);
  const eventId = config.eventId;
  const BUSY_ATTEMPTS = 3;
  const PAY_BUSY_ATTEMPTS = 30;
  const SYNC_EVERY_MS = 30000;

  const state = {
    event: null,
    types: [],
    limits: {},
    counts: {},
    email: "",
    expiresAt: 0,
    clockOffset: 0,
    timer: null,
    order: null,
    lastSync: 0,
    announcedMinute: false,
  };

  // ---- loading the event ------------------------------------------------

  async function loadEvent() {
    const result = await api(config.api.chapterevents);
    const status = $("event-status");
    status.setAttribute("aria-busy", "false");
    if (result.status !== 200 || !result.data) {
      status.replaceChildren(
        el("p", { className: "notice error", role: "alert", text: gettext("The event could not be loaded. Check your connection and reload the page.") }),
      );
      return false;
    }
    const event = result.data.chapter_events.find((item) => item.id === eventId);
    if (!event) {
      status.replaceChildren(
        el("p", { className: "notice", role: "alert", text: gettext("This event is not on sale. Its ticket sales may have stopped.") }),
        el("p", {}, [el("a", { href: config.urls.home, text: gettext("See the events on sale") })]),
      );
      show($("event"), false);
      return false;
    }
    const typesById = Object.fromEntries(result.data.ticket_types.map((type) => [type.id, type]));
    state.event = event;
    state.types = event.ticket_types.map((id) => typesById[id]).filter(Boolean);
    state.limits = event.ticket_type_limits || {};
    status.replaceChildren();
    const order = config.hasOrder ? await api(config.api.status) : { status: 0 };
    state.order = order.status === 200 ? order.data : null;
    if (state.order) addOwnHold(state.order);
    return true;
  }

  function renderEvent() {
    const event = state.event;
    document.title = `${event.title} – ${document.title.split(" – ").pop()}`;
    $("event-title").textContent = event.title;
    Shop.markLang($("event-title"), "events", event.id);
    Shop.markLang($("event-description"), "descriptions", event.id);
    $("event-date").textContent = dateTime(event.event_at);
    $("event-date").setAttribute("datetime", event.event_at);
    $("event-location").textContent = event.location ? ` · ${event.location}` : "";
    $("event-description").textContent = event.description;
    const info = availability(event);
    const availabilityNode = $("event-availability");
    availabilityNode.textContent = info.text;
    availabilityNode.className = `availability badge badge-${info.kind}`;
    show(availabilityNode, Boolean(info.text));
    renderLines();
    const closed = info.kind === "soldout" || info.kind === "soon";
    $("reserve-button").disabled = closed;
    if (info.kind === "soldout") {
      showFormError(gettext("Sorry, this event is sold out."), false);
    }
    // A sold-out event's waiting list (the link is in the page, hidden).
    const waitlist = $("waitlist-link");
    if (waitlist) show(waitlist, info.kind === "soldout");
    show($("event"), true);
  }

  // ---- choosing tickets ---------------------------------------------------

  function maxTotal() {
    return Math.max(0, Math.min(state.event.max_tickets_per_payment, state.event.tickets_left));
  }

  function chosenTotal() {
    return Object.values(state.counts).reduce((sum, n) => sum + n, 0);
  }

  function capFor(typeId) {
    const others = chosenTotal() - (state.counts[typeId] || 0);
    let cap = maxTotal() - others;
    const limit = state.limits[String(typeId)];
    if (limit !== undefined) cap = Math.min(cap, limit);
    return Math.max(0, cap);
  }

  function renderLines() {
    const container = $("ticket-lines");
    container.replaceChildren();
    for (const type of state.types) {
      const id = `qty-${type.id}`;
      state.counts[type.id] = state.counts[type.id] || 0;
      const limit = state.limits[String(type.id)];
      const input = el("input", {
        type: "number",
        id,
        name: id,
        min: "0",
        step: "1",
        inputmode: "numeric",
        value: String(state.counts[type.id]),
        "aria-describedby": `${id}-hint lines-error`,
      });
      const fewer = el("button", { type: "button", className: "step", "aria-label": fmt(gettext("One fewer %(title)s"), { title: type.title }), text: "−" });
      const more = el("button", { type: "button", className: "step", "aria-label": fmt(gettext("One more %(title)s"), { title: type.title }), text: "+" });
      // aria-disabled, not disabled: a button that disables itself under the
      // keyboard would drop focus to the page.
      fewer.addEventListener("click", () => {
        if (fewer.getAttribute("aria-disabled") !== "true") setCount(type.id, state.counts[type.id] - 1);
      });
      more.addEventListener("click", () => {
        if (more.getAttribute("aria-disabled") !== "true") setCount(type.id, state.counts[type.id] + 1);
      });
      input.addEventListener("change", () => setCount(type.id, parseInt(input.value, 10) || 0));
      const hints = [type.description];
      if (limit !== undefined && limit <= config.fewLeft) {
        hints.push(limit === 0 ? gettext("Sold out") : fmt(ngettext("%(n)s left", "%(n)s left", limit), { n: limit }));
      }
      container.append(
        el("div", { className: "line", "data-type": String(type.id) }, [
          el("div", { className: "line-info" }, [
            el("label", { for: id }, [
              el("span", { className: "line-title", text: type.title, lang: Shop.textLang("ticketTypes", type.id) }),
              el("span", { className: "line-price", text: money(type.price) }),
            ]),
            el("p", { className: "hint", id: `${id}-hint`, text: hints.filter(Boolean).join(" · "), lang: Shop.textLang("typeDescriptions", type.id) }),
          ]),
          el("div", { className: "stepper" }, [fewer, input, more]),
        ]),
      );
    }
    updateTotals();
  }

  function setCount(typeId, value) {
    const clamped = Math.max(0, Math.min(value, capFor(typeId)));
    state.counts[typeId] = clamped;
    updateTotals();
  }

  function updateTotals() {
    let sum = 0;
    for (const type of state.types) {
      const n = state.counts[type.id] || 0;
      sum += n * Number(type.price);
      const line = document.querySelector(`.line[data-type="${type.id}"]`);
      if (!line) continue;
      const [fewer, input, more] = line.querySelectorAll(".stepper > *");
      input.value = String(n);
      input.max = String(capFor(type.id));
      fewer.setAttribute("aria-disabled", String(n <= 0));
      more.setAttribute("aria-disabled", String(capFor(type.id) <= n));
    }
    $("total").textContent = money(sum);
    const maximum = state.event.max_tickets_per_payment;
    const total = chosenTotal();
    let note = fmt(ngettext("At most %(n)s ticket per order.", "At most %(n)s tickets per order.", maximum), { n: maximum });
    if (total > 0 && total >= maxTotal()) {
      note = maxTotal() < maximum
        ? fmt(ngettext("Only %(n)s ticket is left, and you have chosen it.", "Only %(n)s tickets are left, and you have chosen them all.", maxTotal()), { n: maxTotal() })
        : fmt(ngettext("You have chosen the most one order can hold (%(n)s ticket).", "You have chosen the most one order can hold (%(n)s tickets).", maximum), { n: maximum });
    }
    if ($("max-note").textContent !== note) $("max-note").textContent = note;
    if (total > 0) linesError("");
  }

  // ---- validation ---------------------------------------------------------

  function fieldError(id, message, input) {
    const node = $(id);
    node.textContent = message;
    show(node, Boolean(message));
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  // The error of the ticket lines marks every ticket field invalid.
  function linesError(message) {
    fieldError("lines-error", message);
    document.querySelectorAll(".line input").forEach((input) => {
      input.setAttribute("aria-invalid", message ? "true" : "false");
    });
  }

  function validate() {
    const email = $("email");
    const email2 = $("email2");
    const terms = $("terms");
    const invalid = [];
    if (chosenTotal() < 1) {
      linesError(gettext("Choose at least one ticket."));
      invalid.push(document.querySelector(".line input"));
    } else {
      linesError("");
    }
    const first = email.value.trim();
    if (!first) {
      fieldError("email-error", gettext("Enter your e-mail address."), email);
      invalid.push(email);
    } else if (!email.checkValidity() || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(first)) {
      fieldError("email-error", gettext("This does not look like an e-mail address."), email);
      invalid.push(email);
    } else {
      fieldError("email-error", "", email);
    }
    if (!email2.value.trim()) {
      fieldError("email2-error", gettext("Type the e-mail address again."), email2);
      invalid.push(email2);
    } else if (email2.value.trim().toLowerCase() !== first.toLowerCase()) {
      fieldError("email2-error", gettext("The two e-mail addresses are not the same."), email2);
      invalid.push(email2);
    } else {
      fieldError("email2-error", "", email2);
    }
    if (!terms.checked) {
      fieldError("terms-error", gettext("Accept the terms of purchase to continue."), terms);
      invalid.push(terms);
    } else {
      fieldError("terms-error", "", terms);
    }
    if (invalid.length) {
      invalid[0].focus();
      return false;
    }
    state.email = first;
    return true;
  }

  function showFormError(message, moveFocus = true, isError = true) {
    const node = $("form-error");
    node.className = isError ? "notice error" : "notice";
    node.textContent = message;
    show(node, Boolean(message));
    if (message && moveFocus) focus(node);
  }

  // ---- reserving ----------------------------------------------------------

  function reserveErrorMessage(result) {
    const code = errorCode(result);
    switch (code) {
      case "OutOfTickets": {
        const n = result.data.tickets_left;
        if (n === 0) return gettext("Sorry, the tickets ran out just now.");
        return fmt(ngettext(
          "Only %(n)s ticket is left. Choose fewer and try again.",
          "Only %(n)s tickets are left. Choose fewer and try again.", n), { n });
      }
      case "TooManyTickets":
        return fmt(gettext("At most %(n)s tickets can be bought in one order."), { n: state.event.max_tickets_per_payment });
      case "SalesNotStarted":
        return gettext("Ticket sales for this event have not started yet.");
      case "NotAdmitted":
        return gettext("This event is sold through a queue: reserve when it is your turn (see the link to the queue above).");
      case "EventDoesNotExist":
        return gettext("Ticket sales for this event have stopped.");
      case "TicketTypeDoesNotExist":
        return gettext("One of the ticket types is no longer sold. Reload the page and choose again.");
      case "InvalidRequestData":
        return gettext("The order could not be read. Reload the page and try again.");
      case "Busy":
        return gettext("Many people are buying tickets right now. Please try again in a moment.");
      default:
        if (result.status === 0) return gettext("No connection to the shop. Check your connection and try again.");
        return gettext("Something went wrong on our side. Please try again in a moment.");
    }
  }

  async function reserve() {
    const body = {
      chapter_event: eventId,
      tickets: state.types
        .filter((type) => state.counts[type.id] > 0)
        .map((type) => ({ ticket_type: type.id, count: state.counts[type.id] })),
    };
    for (let attempt = 1; ; attempt++) {
      const result = await api(config.api.reserve, { method: "POST", body });
      if (errorCode(result) === "Busy" && attempt < BUSY_ATTEMPTS) {
        const wait = Math.min(10, Number(result.headers.get("Retry-After")) || 2);
        showFormError(fmt(gettext("Many people are buying tickets right now. Trying again in %(n)s s…"), { n: wait }), false, false);
        await sleep(wait * 1000);
        continue;
      }
      return result;
    }
  }

  async function onSubmit(submitEvent) {
    submitEvent.preventDefault();
    showFormError("");
    if (!validate()) return;
    const button = $("reserve-button");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    const result = await reserve();
    button.removeAttribute("aria-busy");
    if (result.status === 201) {
      button.disabled = false;
      await startHold();
      return;
    }
    const code = errorCode(result);
    showFormError(reserveErrorMessage(result));
    if (code === "OutOfTickets" || code === "TicketTypeDoesNotExist") {
      // Refresh what is left so the steppers show the truth.
      if (await loadEvent()) {
        const info = availability(state.event);
        $("event-availability").textContent = info.text;
        $("event-availability").className = `availability badge badge-${info.kind}`;
        show($("event-availability"), Boolean(info.text));
        for (const type of state.types) setCount(type.id, state.counts[type.id] || 0);
      }
    }
    const closed = code === "EventDoesNotExist" || code === "SalesNotStarted" ||
      (code === "OutOfTickets" && result.data.tickets_left === 0);
    button.disabled = closed;
  }

  // ---- the hold -----------------------------------------------------------

  async function fetchStatus() {
    const result = await api(config.api.status);
    // The Date header has whole seconds: trust it only to correct a clock
    // that is clearly wrong, not to shift a right one by a fraction.
    const serverDate = Date.parse(result.headers.get("Date") || "");
    if (!Number.isNaN(serverDate)) {
      const offset = serverDate - Date.now();
      state.clockOffset = Math.abs(offset) > 2000 ? offset : 0;
    }
    return result;
  }

  async function startHold() {
    const result = await fetchStatus();
    if (result.status !== 200 || result.data.status !== "RESERVED") {
      showFormError(gettext("The reservation could not be confirmed. The shop needs cookies to keep it. Please try again."));
      return;
    }
    state.expiresAt = Date.parse(result.data.expires_at);
    state.lastSync = Date.now();
    state.announcedMinute = false;
    const typesById = Object.fromEntries(state.types.map((type) => [type.id, type]));
    $("hold-lines").replaceChildren(
      ...result.data.tickets.map((line) => {
        const type = typesById[line.ticket_type];
        const title = type ? type.title : gettext("Ticket");
        return el("li", { text: `${line.count} × ${title}` });
      }),
    );
    $("hold-total").textContent = money(result.data.total_price);
    $("hold-email").textContent = state.email;
    show($("pay-error"), false);
    show($("order-form"), false);
    show($("expired"), false);
    // The came-back notice spoke of the form, which is gone now.
    document.getElementById("held-notice")?.remove();
    // What is left no longer concerns a buyer who holds seats.
    show($("event-availability"), false);
    show($("hold"), true);
    focus($("hold-title"));
    tick();
    clearInterval(state.timer);
    state.timer = setInterval(tick, 1000);
  }

  function remainingMs() {
    return state.expiresAt - (Date.now() + state.clockOffset);
  }

  let checking = false;
  async function tick() {
    const left = remainingMs();
    const seconds = Math.max(0, Math.ceil(left / 1000));
    const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
    const ss = String(seconds % 60).padStart(2, "0");
    $("countdown").textContent = `${mm}:${ss}`;
    if (seconds <= 60 && seconds > 0 && !state.announcedMinute) {
      state.announcedMinute = true;
      $("countdown-announce").textContent = gettext("One minute left to pay.");
    }
    const dueForSync = Date.now() - state.lastSync > SYNC_EVERY_MS;
    if ((left <= 0 || dueForSync) && !checking) {
      checking = true;
      state.lastSync = Date.now();
      const result = await fetchStatus();
      checking = false;
      if (result.status === 200 && result.data.status === "RESERVED") {
        if (result.data.payment_pending) {
          window.location.assign(config.urls.pay);
          return;
        }
        state.expiresAt = Date.parse(result.data.expires_at);
      } else if (result.status === 200 && result.data.status === "PAID") {
        window.location.assign(config.urls.confirmation);
      } else if (result.status !== 0) {
        showExpired(gettext("The time to pay ran out and the seats went back on sale. Nothing was charged."));
      }
    }
  }

  function stopHold() {
    clearInterval(state.timer);
    state.timer = null;
  }

  function showExpired(message) {
    stopHold();
    show($("hold"), false);
    show($("order-form"), false);
    $("expired").querySelector("p").textContent = message;
    show($("expired"), true);
    focus($("expired-title"));
  }

  function payErrorMessage(result) {
    switch (errorCode(result)) {
      case "InvalidRequestData":
        return gettext("The e-mail address was not accepted. Change the order and check the address.");
      case "InvalidSession":
        return gettext("Your reservation could not be found. The shop needs cookies to keep it. Please start again.");
      case "ConfirmationRequired":
        return gettext("Confirm your e-mail address before you pay: open the link we e-mailed you, then press Pay with Swish again. Your tickets stay reserved until the hold runs out.");
      case "PaymentStartFailed":
        return gettext("Swish could not be reached right now. Your tickets are still reserved: please try again.");
      case "Busy":
        return gettext("Many people are buying tickets right now. Please try again in a moment.");
      default:
        if (result.status === 0) return gettext("No connection to the shop. Check your connection and try again.");
        return gettext("Something went wrong on our side. Please try again in a moment.");
    }
  }

  async function pay() {
    const button = $("pay-button");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    show($("pay-error"), false);
    let result;
    for (let attempt = 1; ; attempt++) {
      result = await api(config.api.startPayment, {
        method: "POST",
        body: { email_address: state.email },
      });
      // Too many payments starting at once: wait Retry-After, ask again.
      if (errorCode(result) !== "Busy" || attempt >= PAY_BUSY_ATTEMPTS) break;
      const wait = Math.min(10, Number(result.headers.get("Retry-After")) || 2);
      $("pay-error").textContent = fmt(gettext("Many people are buying tickets right now. Trying again in %(n)s s…"), { n: wait });
      show($("pay-error"), true);
      await sleep(wait * 1000);
    }
    button.removeAttribute("aria-busy");
    button.disabled = false;
    if (result.status === 200) {
      stopHold();
      window.location.assign(config.urls.pay);
      return;
    }
    const code = errorCode(result);
    if (code === "AlreadyPaidPayment") {
      window.location.assign(config.urls.confirmation);
      return;
    }
    if (code === "SessionExpired") {
      showExpired(gettext("The time to pay ran out and the seats have been taken by others. Nothing was charged."));
      return;
    }
    $("pay-error").textContent = payErrorMessage(result);
    show($("pay-error"), true);
    focus($("pay-error"));
  }

  function backToForm() {
    stopHold();
    show($("hold"), false);
    show($("expired"), false);
    show($("order-form"), true);
    show($("event-availability"), Boolean($("event-availability").textContent));
    showFormError("");
    focus($("event-title"));
  }

  async function restart() {
    backToForm();
    if (await loadEvent()) renderEvent();
  }

  // ---- start --------------------------------------------------------------

  $("order-form").addEventListener("submit", onSubmit);
  $("pay-button").addEventListener("click", pay);
  // The counts shown are from before the hold, which is right: reserving again
  // releases the buyer's own hold first.
  $("change-button").addEventListener("click", backToForm);
  $("restart-button").addEventListener("click", restart);

  /* Seats this session already holds for the event are free to it: a new
     reservation releases the old hold first. */
  function heldHere(order) {
    return order && order.status === "RESERVED" && !order.payment_pending &&
      order.chapter_event === eventId ? order : null;
  }

  function addOwnHold(order) {
    if (!heldHere(order)) return;
    let own = 0;
    for (const line of order.tickets) {
      own += line.count;
      const key = String(line.ticket_type);
      if (state.limits[key] !== undefined) state.limits[key] += line.count;
    }
    state.event.tickets_left += own;
  }

  (async () => {
    if (!(await loadEvent())) return;
    // The buyer came back to a hold of theirs with no payment yet (a reload,
    // or the queue page's "Go to your reservation"): the form starts from
    // its tickets. The hold's e-mail address is not known before the
    // payment, so the buyer gives it and reserves again, which replaces
    // the hold (its seats count as free to them: addOwnHold).
    const held = heldHere(state.order);
    if (held) {
      // Only the types still on sale (the form sends no others).
      const onSale = new Set(state.types.map((type) => type.id));
      for (const line of held.tickets) {
        if (onSale.has(line.ticket_type)) state.counts[line.ticket_type] = line.count;
      }
    }
    renderEvent();
    // A payment already running for this session: send the buyer back to it.
    if (state.order && state.order.status === "RESERVED" && state.order.payment_pending) {
      $("event-status").replaceChildren(
        el("p", { className: "notice" }, [
          gettext("A Swish payment of yours is in progress. "),
          el("a", { href: config.urls.pay, text: gettext("Go to the payment") }),
        ]),
      );
    } else if (held) {
      $("event-status").replaceChildren(
        el("p", { className: "notice", id: "held-notice" }, [
          gettext("Your reserved tickets are chosen below. Give your e-mail address and press Reserve tickets to go on to the payment: this replaces your reservation, it does not add to it."),
        ]),
      );
    }
  })();
});
