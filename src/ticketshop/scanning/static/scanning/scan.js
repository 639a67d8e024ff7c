/* The door scanner page: password once, then QR codes from the camera,
 * typed ids, or a hand-held scanner that types the id and Enter. Each answer
 * of PUT /scan/check/ (validate_ticket's answer) fills the screen: green, amber or red.
 *
 * Offline: while it has network the page keeps the door list (/scan/door/)
 * in IndexedDB (door-offline.js). Without network a scan is checked against
 * the ticket's signature and that list, shown with an "offline" mark, and
 * queued; back online the queue goes to /scan/sync/ in order, and the
 * server's conflicts are shown. A service worker (/scan/sw.js) keeps the
 * page itself available offline. */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = script.dataset.api;
  var LOGIN_API = script.dataset.login;
  var DOOR_API = script.dataset.door;
  var SYNC_API = script.dataset.sync;
  var SERVICE_WORKER = script.dataset.serviceWorker;
  var Offline = window.DoorOffline;
  // An answer slower than this counts as no network: the door keeps moving.
  var ONLINE_TIMEOUT_MS = 4000;
  // A login checks a password hash on the server: slower than a scan.
  var LOGIN_TIMEOUT_MS = 15000;
  var SYNC_EVERY_MS = 15000;
  var SYNC_BATCH = 100;
  // The list is downloaded again after a sync that sent scans, else when
  // it is older than this.
  var LIST_REFRESH_MS = 60000;
  var LANGUAGE = script.dataset.language || document.documentElement.lang;
  var TIME_ZONE = script.dataset.timeZone;
  var LIBRARY_URL = script.dataset.libraryUrl;
  var WASM_URL = script.dataset.libraryBase;
  var M = JSON.parse(document.getElementById("scan-messages").textContent);
  var STORAGE_KEY = "ticketshop.scanner.password";
  // The same code seen again by the camera within this time is ignored.
  var REPEAT_MS = 4000;

  var $ = function (id) { return document.getElementById(id); };
  var capabilities = $("capabilities");
  var libraryInstalled = capabilities.dataset.qrLibrary === "1";
  var password = sessionStorage.getItem(STORAGE_KEY) || "";
  var shownId = null;
  var shownText = null;
  var lastCamera = { id: null, at: 0 };
  var audio = null;
  var camera = { stream: null, detector: null, timer: null };

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function normaliseId(raw) {
    var text = String(raw || "").trim();
    // A signed payload is case-sensitive (its signature is base64url).
    if (Offline.looksSigned(text)) { return text; }
    // A QR code may hold a URL ending in the id.
    if (text.indexOf("/") !== -1) {
      var parts = text.split(/[/?#=]/).filter(Boolean);
      text = parts.length ? parts[parts.length - 1] : "";
    }
    return text.toUpperCase();
  }

  // The id a scanned text names, for the screen (a payload's id part).
  function displayId(text) {
    return Offline.looksSigned(text) ? String(text).split(".")[1] || "" : text;
  }

  function send(method, url, payload, timeoutMs) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && timeoutMs ? setTimeout(function () { controller.abort(); }, timeoutMs) : null;
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) { clearTimeout(timer); }
      return response.json().catch(function () { return null; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  // Each answer carries the password it was asked with: a 401 for a password
  // that is no longer the current one is stale and must not log anyone out.
  // firstUseOnly (auto-admit): the server adds the use only to a ticket
  // not used yet; a used one comes back unused, for the volunteer to decide.
  function validate(externalId, useTicket, firstUseOnly) {
    var asked = password;
    var body = { external_id: externalId, password: asked, use_ticket: useTicket };
    if (firstUseOnly) { body.first_use_only = true; }
    return send("PUT", API, body, ONLINE_TIMEOUT_MS)
      .then(function (answer) { answer.password = asked; return answer; });
  }

  /* --- words: English titles, refusals, plurals --------------------------- */

  var ENGLISH = String(LANGUAGE || "").indexOf("en") === 0;

  // The English title on the English page, where the organiser gave one.
  function localTitle(title, titleEn) {
    return ENGLISH && titleEn ? titleEn : (title || "");
  }

  // M.<name> is [one, other]: the form for 1, the form for every other n.
  function plural(forms, n, values) {
    var all = { n: n };
    Object.keys(values || {}).forEach(function (key) { all[key] = values[key]; });
    return fmt(n === 1 ? forms[0] : forms[1], all);
  }

  function nightText(night) {
    var parts = [localTitle(night.title, night.title_en)];
    var when = new Date(night.event_at);
    if (!isNaN(when)) { parts.push(formatTime(when)); }
    return parts.join(" · ");
  }

  // What the volunteer says to a guest whose ticket does not open the door:
  // why it was revoked, or "not paid" when its order never was. Never a
  // raw status code. ticketNight: the scanned ticket's own night.
  function refusalTitle(reason, movedTo, ticketNight) {
    if (reason === "refunded") { return M.refunded; }
    if (reason === "cancelled") { return M.cancelled; }
    if (reason === "exchanged") {
      var sameNight = movedTo && ticketNight && movedTo.title === ticketNight.title &&
        new Date(movedTo.event_at).getTime() === new Date(ticketNight.event_at).getTime();
      return movedTo && !sameNight ? fmt(M.exchanged, { night: nightText(movedTo) }) : M.exchanged_ticket;
    }
    return M.not_paid;
  }

  /* --- falling back to offline when the server refuses ------------------- */

  // Which banner a server answer calls for, or null when it is an answer.
  function serverRefusal(answer) {
    if (answer.status === 401) { return "offline_password"; }
    if (answer.status === 429) { return "offline_throttled"; }
    if (answer.status === 403 || answer.status >= 500 || answer.status === 0) { return "offline_server"; }
    return null;
  }

  function showFallback(key) {
    var box = $("fallback");
    box.textContent = door ? M[key] : M[key] + " " + M.offline_no_list;
    box.dataset.reason = key;
    box.hidden = false;
    // The door decides for itself now: the status line says so too.
    if (online) { online = false; renderDoorStatus(); }
  }

  function hideFallback() {
    var box = $("fallback");
    box.hidden = true;
    box.dataset.reason = "";
  }

  /* --- feedback: sound and vibration ------------------------------------ */

  function beep(kind) {
    try {
      if (!audio) { audio = new (window.AudioContext || window.webkitAudioContext)(); }
      var tones = { green: [[880, 0.12]], amber: [[660, 0.1], [660, 0.1]], red: [[220, 0.45]] }[kind];
      var t = audio.currentTime;
      tones.forEach(function (tone) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = tone[0];
        osc.type = kind === "red" ? "square" : "sine";
        gain.gain.value = 0.2;
        osc.connect(gain).connect(audio.destination);
        osc.start(t);
        osc.stop(t + tone[1]);
        t += tone[1] + 0.08;
      });
    } catch (e) { /* no audio: the colour still tells */ }
    if (navigator.vibrate) {
      navigator.vibrate({ green: 80, amber: [80, 80, 80], red: [400] }[kind]);
    }
  }

  /* --- the full-screen result ------------------------------------------- */

  function showResult(kind, title, detail, id, canAdmit, offline) {
    var result = $("result");
    result.className = "result " + kind + (offline ? " offline" : "");
    result.dataset.kind = kind;
    result.dataset.offline = offline ? "1" : "0";
    $("result-offline").hidden = !offline;
    $("result-title").textContent = title;
    $("result-detail").textContent = detail || "";
    $("result-ticket").textContent = id || "";
    $("admit").hidden = !canAdmit;
    result.hidden = false;
    shownId = id;
    beep(kind);
    // Keys from a hand-held scanner keep going to the id field.
    $("ticket-id").focus();
  }

  function hideResult() {
    $("result").hidden = true;
    if (window.DoorMoney) { window.DoorMoney.hide(); }
    shownId = null;
    shownText = null;
    $("ticket-id").focus();
  }

  function describe(body) {
    var parts = [localTitle(body.chapter_event, body.chapter_event_en)];
    var type = localTitle(body.ticket_type_title, body.ticket_type_title_en);
    if (type) { parts.push(type); }
    if (body.event_at) {
      var when = new Date(body.event_at);
      if (!isNaN(when)) { parts.push(formatTime(when)); }
    }
    return parts.join(" · ");
  }

  // The shop's clock, in the page's language, whatever the phone's zone.
  function formatTime(when) {
    var options = { dateStyle: "medium", timeStyle: "short" };
    if (TIME_ZONE) { options.timeZone = TIME_ZONE; }
    try {
      return when.toLocaleString(LANGUAGE === "sv" ? "sv-SE" : "en-GB", options);
    } catch (e) {
      return when.toISOString();
    }
  }
  window.ticketScannerFormatTime = formatTime;

  function usedText(n) { return n === 1 ? M.used_once : fmt(M.used, { n: n }); }

  function render(answer, id, useRequested) {
    var body = answer.body || {};
    if (answer.status === 404 || body.unknown) { showResult("red", M.unknown, "", id, false); return; }
    if (answer.status !== 200) { showResult("red", M.invalid, "", id, false); return; }
    var detail = describe(body);
    if (body.status === "WrongEvent") { showResult("red", M.wrong_event, detail, body.external_id, false); return; }
    if (body.status !== "PAID") {
      var night = { title: body.chapter_event, event_at: body.event_at };
      showResult("red", refusalTitle(body.revoked_reason, body.exchanged_to, night), detail, body.external_id, false);
      return;
    }
    if (body.times_used === 0) {
      var title = body.admitted ? (useRequested === "button" ? M.admitted : M.ok) : M.valid;
      showResult("green", title, detail, body.external_id, !body.admitted);
      return;
    }
    var amberTitle = body.admitted ? M.admitted + " · " + usedText(body.times_used) : usedText(body.times_used);
    showResult("amber", amberTitle, detail, body.external_id, !body.admitted);
  }

  function check(rawId, how) {
    var text = normaliseId(rawId);
    if (!text) { return Promise.resolve(); }
    var useTicket = how === "button" || $("auto-admit").checked;
    shownText = text;
    if (navigator.onLine === false) {
      showFallback("offline_unreachable");
      return checkOffline(text, useTicket, how);
    }
    return validate(text, useTicket, useTicket && how !== "button").then(function (answer) {
      var refused = serverRefusal(answer);
      if (refused) {
        // The server is there but refuses or fails: the door decides for
        // itself, and says so.
        showFallback(refused);
        return checkOffline(text, useTicket, how);
      }
      setOnline(true);
      hideFallback();
      if (answer.status === 200 && answer.body && !answer.body.unknown) { noteServerAnswer(answer.body); }
      render(answer, displayId(text), how);
      if (window.DoorMoney) { window.DoorMoney.showOnline(answer.status === 200 ? answer.body : null, password, door); }
    }, function () {
      // No answer (no network, or too slow): decide here, send it later.
      setOnline(false);
      showFallback("offline_unreachable");
      return checkOffline(text, useTicket, how);
    });
  }

  /* --- offline: the door list, the queue, the sync ----------------------- */

  var door = null;           // {list, fetchedAt} from IndexedDB
  var online = navigator.onLine !== false;
  var syncing = null;
  var conflicts = [];
  // Set at each login: the list of this scanner's events is fetched anew.
  var listWanted = true;

  function setOnline(value) {
    if (online !== value) { online = value; renderDoorStatus(); }
    if (value) { scheduleSync(0); }
  }

  function noteServerAnswer(body) {
    // Keep the list in step with what the server said, for the next outage.
    if (!door || !door.list.tickets[body.external_id]) { return; }
    var entry = door.list.tickets[body.external_id];
    entry[1] = body.status === "WrongEvent" ? entry[1] : body.status;
    entry[2] = body.times_used + (body.admitted ? 1 : 0);
    noteTicketState(door.list, body);
    Offline.saveDoor(door);
  }

  // The ticket's state in the list, as the server's answer gives it.
  function noteTicketState(list, body) {
    if (!list.ticket_states || body.status === "WrongEvent") { return; }
    var uses = body.times_used + (body.admitted ? 1 : 0);
    var state;
    if (body.status === "PAID") {
      state = uses ? { state: "used", uses: uses } : { state: "valid" };
    } else if (body.revoked_reason) {
      state = { state: "revoked", reason: body.revoked_reason };
      if (body.exchanged_to) { state.moved_to = body.exchanged_to; }
    } else {
      state = { state: "not_paid" };
    }
    list.ticket_states[body.external_id] = state;
  }

  function resolveOffline(text) {
    // Resolves to {id, eventId, signed, genuine}.
    if (!Offline.looksSigned(text)) {
      return Promise.resolve({ id: text, eventId: null, signed: false, genuine: false });
    }
    if (!door) { return Promise.resolve({ id: displayId(text), eventId: null, signed: true, genuine: false }); }
    return Promise.all([Offline.verifyPayload(door.list.public_key, text), Offline.ed25519Supported()])
      .then(function (found) {
        var ticket = found[0];
        if (ticket) { return { id: ticket.externalId, eventId: ticket.eventId, signed: true, genuine: true }; }
        // A browser without Ed25519 cannot tell: the list alone decides, as
        // for a typed id.
        if (!found[1]) { return { id: displayId(text), eventId: null, signed: false, genuine: false }; }
        return { id: displayId(text), eventId: null, signed: true, genuine: false };
      });
  }

  function checkOffline(text, useTicket, how) {
    return resolveOffline(text).then(function (ticket) {
      var outcome = decideOffline(ticket);
      // A used ticket is let in again only by the volunteer's own choice
      // (the Admit button), never by auto-admit.
      var use = useTicket && outcome.kind !== "red" && (how === "button" || outcome.used === 0);
      var seen = outcome.used;
      if (use && outcome.entry) { outcome.entry[2] += 1; }
      var scan = {
        key: newKey(),
        external_id: text,
        use_ticket: use,
        scanned_at: new Date().toISOString(),
        shown: outcome.kind,
        times_used_seen: seen
      };
      var title = outcome.title;
      if (outcome.kind !== "red") {
        if (use) {
          title = seen === 0 ? (how === "button" ? M.admitted : M.ok) : M.admitted + " · " + usedText(seen);
        } else {
          title = seen === 0 ? M.valid : usedText(seen);
        }
      }
      showResult(outcome.kind, title, outcome.detail, ticket.id, outcome.kind !== "red" && !use, true);
      if (window.DoorMoney) { window.DoorMoney.showOffline(outcome.kind === "red" || !door ? null : door.list, ticket.id, use); }
      return Promise.all([Offline.enqueue(scan), door ? Offline.saveDoor(door) : null])
        .then(renderDoorStatus);
    });
  }

  function decideOffline(ticket) {
    if (ticket.signed && !ticket.genuine) {
      return { kind: "red", title: door ? M.forged : M.no_list, detail: "", used: 0 };
    }
    if (!door) { return { kind: "red", title: M.no_list, detail: "", used: 0 }; }
    var list = door.list;
    var key = list.tickets[ticket.id] ? ticket.id : String(ticket.id).toUpperCase();
    var entry = list.tickets[key];
    var events = {};
    list.events.forEach(function (event) { events[event.id] = event; });
    if (!entry) {
      // Signed by the shop but sold after the download: genuine all the same.
      if (ticket.genuine && events[ticket.eventId]) {
        return { kind: "green", detail: eventDetail(events[ticket.eventId], "") + " · " + M.not_in_list, used: 0, entry: null };
      }
      if (ticket.genuine) { return { kind: "red", title: M.wrong_event, detail: "", used: 0 }; }
      return { kind: "red", title: M.unknown, detail: "", used: 0 };
    }
    var typeEn = list.type_titles_en ? list.type_titles_en[key] : "";
    var detail = eventDetail(events[entry[0]], entry[3], typeEn);
    var state = Offline.ticketState(list, key, entry);
    if (state.state === "revoked" || state.state === "not_paid") {
      return { kind: "red", title: refusalTitle(state.reason, state.movedTo, events[entry[0]]), detail: detail, used: entry[2] };
    }
    return { kind: entry[2] === 0 ? "green" : "amber", detail: detail, used: entry[2], entry: entry };
  }

  function eventDetail(event, typeTitle, typeTitleEn) {
    if (!event) { return localTitle(typeTitle, typeTitleEn); }
    return describe({
      chapter_event: event.title, chapter_event_en: event.title_en,
      ticket_type_title: typeTitle, ticket_type_title_en: typeTitleEn, event_at: event.event_at
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function fetchDoorList() {
    if (!password) { return Promise.resolve(); }
    return send("POST", DOOR_API, { password: password }, 15000).then(function (answer) {
      if (answer.status === 200 && answer.body) {
        setOnline(true);
        hideFallback();
        listWanted = false;
        var previous = door;
        door = { list: answer.body, fetchedAt: new Date().toISOString(), check: previous ? previous.check : null };
        // Uses recorded offline and not yet synced stay counted.
        return Offline.queued().then(function (scans) {
          scans.forEach(function (scan) {
            var id = displayId(scan.external_id);
            var entry = door.list.tickets[id] || door.list.tickets[id.toUpperCase()];
            if (scan.use_ticket && entry) { entry[2] += 1; }
          });
          return rememberPassword(door);
        }).then(function () { return Offline.saveDoor(door); });
      }
      var refused = serverRefusal(answer);
      if (refused) { showFallback(refused); }
    }, function () { setOnline(false); }).then(renderDoorStatus);
  }

  // The list keeps a check of the password it came with (never the password
  // itself), so that the page can start offline with that password only.
  function rememberPassword(saved) {
    var current = password;
    return Offline.passwordCheck(current).then(function (check) {
      if (check && current === password) { saved.check = check; }
    });
  }

  var syncTimer = null;
  function scheduleSync(delay) {
    if (syncTimer) { clearTimeout(syncTimer); }
    syncTimer = setTimeout(function () { syncTimer = null; syncNow(); }, delay);
  }

  // Sends the queue in order, a batch at a time; resolves when it is empty
  // or the network is gone again.
  function syncNow() {
    if (syncing || !password) { return syncing || Promise.resolve(); }
    var sent = false;
    syncing = Offline.queued().then(function sendBatch(scans) {
      if (!scans.length) {
        var stale = !door || Date.now() - new Date(door.fetchedAt).getTime() > LIST_REFRESH_MS;
        return sent || stale || listWanted ? fetchDoorList() : null;
      }
      var batch = scans.slice(0, SYNC_BATCH);
      var body = batch.map(function (scan) {
        return {
          key: scan.key, external_id: scan.external_id, use_ticket: scan.use_ticket,
          scanned_at: scan.scanned_at, shown: scan.shown, times_used_seen: scan.times_used_seen
        };
      });
      return send("POST", SYNC_API, { password: password, scans: body }, 30000).then(function (answer) {
        var refused = serverRefusal(answer);
        if (refused) { showFallback(refused); return; }
        if (answer.status !== 200 || !answer.body) { return; }
        setOnline(true);
        hideFallback();
        sent = true;
        answer.body.results.forEach(function (result) {
          if (result.conflict) { conflicts.push(result); }
        });
        renderConflicts();
        return Offline.dequeue(batch.map(function (scan) { return scan.seq; }))
          .then(Offline.queued).then(sendBatch);
      }, function () { setOnline(false); });
    }).then(function () {
      syncing = null;
      renderDoorStatus();
    }, function () {
      syncing = null;
      renderDoorStatus();
    });
    return syncing;
  }

  function ago(iso) {
    var minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
    return fmt(M.minutes_ago, { n: minutes });
  }

  function renderDoorStatus() {
    var status = $("door-status");
    Offline.queued().then(function (scans) {
      var parts = [online ? M.online : M.offline_now];
      parts.push(door ? fmt(M.list_from, { time: formatTime(new Date(door.fetchedAt)), ago: ago(door.fetchedAt) }) : M.no_list);
      if (scans.length) { parts.push(plural(M.waiting, scans.length)); }
      status.textContent = parts.join(" · ");
      status.dataset.online = online ? "1" : "0";
      status.dataset.queued = String(scans.length);
      status.dataset.listAt = door ? door.fetchedAt : "";
    });
  }

  function renderConflicts() {
    var box = $("conflicts");
    var list = $("conflict-list");
    list.replaceChildren();
    conflicts.forEach(function (result) {
      var item = document.createElement("li");
      item.textContent = result.admitted
        ? plural(M.conflict_used, result.times_used, { id: result.external_id })
        : fmt(M.conflict_refused, { id: result.external_id, why: conflictWhy(result) });
      list.appendChild(item);
    });
    box.hidden = conflicts.length === 0;
  }

  // Why the server refused a scan let in offline, in words.
  function conflictWhy(result) {
    if (result.status === "WrongEvent") { return M.wrong_event; }
    if (result.status === "Ticket does not exist") { return M.unknown; }
    return refusalTitle(result.revoked_reason, result.exchanged_to, null);
  }

  function startOffline() {
    Offline.loadDoor().then(function (saved) {
      if (saved && !door) { door = saved; }
      renderDoorStatus();
      return navigator.onLine === false ? null : syncNow();
    });
    setInterval(function () {
      if (navigator.onLine !== false) { syncNow(); }
      renderDoorStatus();
    }, SYNC_EVERY_MS);
  }

  window.addEventListener("online", function () { setOnline(true); });
  window.addEventListener("offline", function () { setOnline(false); });

  if ("serviceWorker" in navigator && SERVICE_WORKER) {
    navigator.serviceWorker.register(SERVICE_WORKER, { scope: "./" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // The page's own files, as this page loaded them, for the next offline load.
      var urls = [location.pathname];
      document.querySelectorAll("script[src], link[rel=stylesheet], link[rel=icon]").forEach(function (tag) {
        urls.push(tag.src || tag.href);
      });
      if (registration.active) { registration.active.postMessage({ cache: urls }); }
    }).catch(function () { /* no service worker: the page works while loaded */ });
  }

  /* --- password ---------------------------------------------------------- */

  var offlineStarted = false;

  function showScanner() {
    $("login").hidden = true;
    $("scanner").hidden = false;
    $("ticket-id").focus();
    setUpCamera();
    listWanted = true;
    if (!offlineStarted) { offlineStarted = true; startOffline(); } else { syncNow(); }
  }

  // The password form: at the start, or to change the password. Changing
  // keeps the current password (and the scanning) until a new one is
  // accepted; "Back to scanning" returns to it unchanged.
  function showLogin(message) {
    stopCamera();
    loginAttempt++;
    $("result").hidden = true;
    $("scanner").hidden = true;
    $("login").hidden = false;
    $("cancel-change").hidden = !password;
    var error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("password").value = "";
    $("password").removeAttribute("aria-invalid");
    $("password").focus();
  }

  function loginFailed(message) {
    var error = $("login-error");
    error.textContent = message;
    error.hidden = false;
    $("password").setAttribute("aria-invalid", "true");
    $("password").focus();
  }

  function accept(tried) {
    password = tried;
    sessionStorage.setItem(STORAGE_KEY, password);
    $("login-error").hidden = true;
    $("password").removeAttribute("aria-invalid");
    showScanner();
  }

  // Only the answer to the latest login attempt counts: a slow "wrong
  // password" for an earlier attempt never undoes a later success.
  var loginAttempt = 0;

  // The server refused the login or did not answer: with the list this
  // device downloaded with this very password, scan offline and say so;
  // else say why not.
  function loginOffline(tried, attempt, banner, message) {
    return Offline.loadDoor().then(function (saved) {
      return Offline.matchesList(saved, tried).then(function (matches) {
        if (attempt !== loginAttempt) { return; }
        if (matches) {
          if (!door) { door = saved; }
          accept(tried);
          showFallback(banner);
          return;
        }
        loginFailed(saved || banner === "offline_password" ? message : message + " " + M.offline_no_list);
      });
    }, function () {
      if (attempt === loginAttempt) { loginFailed(message + " " + M.offline_no_list); }
    });
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var tried = $("password").value;
    var attempt = ++loginAttempt;
    send("POST", LOGIN_API, { password: tried }, LOGIN_TIMEOUT_MS).then(function (answer) {
      if (attempt !== loginAttempt) { return; }
      if (answer.status === 200) { hideFallback(); accept(tried); return; }
      var banner = serverRefusal(answer);
      if (!banner) { loginFailed(M.invalid); return; }
      var message = { offline_password: M.wrong_password, offline_throttled: M.too_many }[banner] || M.server_failing;
      return loginOffline(tried, attempt, banner, message);
    }, function () {
      if (attempt === loginAttempt) { return loginOffline(tried, attempt, "offline_unreachable", M.network); }
    });
    // Audio may start only after a gesture such as this one.
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  });

  $("logout").addEventListener("click", function () { showLogin(""); });
  $("cancel-change").addEventListener("click", function () {
    loginAttempt++;
    if (password) { showScanner(); }
  });

  /* --- typed ids and hand-held scanners --------------------------------- */

  $("manual-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = $("ticket-id");
    var value = field.value;
    field.value = "";
    check(value, "typed");
  });

  $("admit").addEventListener("click", function () {
    if (shownId) { check(shownText || shownId, "button"); }
  });
  $("next").addEventListener("click", hideResult);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !$("result").hidden) { hideResult(); }
  });

  /* --- camera ------------------------------------------------------------- */

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.appendChild(tag);
    });
  }

  function nativeDetector() {
    if (!("BarcodeDetector" in window)) { return Promise.resolve(null); }
    var formats = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(["qr_code"]);
    return formats.then(function (list) {
      return list.indexOf("qr_code") !== -1 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    }, function () { return null; });
  }

  function libraryDetector() {
    if (!libraryInstalled) { return Promise.resolve(null); }
    return loadScript(LIBRARY_URL).then(function () {
      var api = window.BarcodeDetectionAPI;
      // The .wasm comes from this server, never from a CDN.
      api.prepareZXingModule({
        overrides: {
          locateFile: function (path, prefix) {
            return path.slice(-5) === ".wasm" ? WASM_URL : prefix + path;
          }
        }
      });
      return new api.BarcodeDetector({ formats: ["qr_code"] });
    }, function () { return null; });
  }

  // Resolves to {detector, source}; exposed for the browser tests.
  var detectorReady = nativeDetector().then(function (detector) {
    if (detector) { return { detector: detector, source: "native" }; }
    return libraryDetector().then(function (lib) {
      return { detector: lib, source: lib ? "library" : null };
    });
  });
  window.ticketScanner = {
    detectorReady: detectorReady,
    check: check,
    sync: function () { return syncNow(); },
    refreshList: function () { return fetchDoorList(); }
  };

  function setUpCamera() {
    var hasCamera = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    detectorReady.then(function (found) {
      var toggle = $("camera-toggle");
      var lines = [];
      if (!found.detector) {
        lines.push(M.no_camera_reader);
      } else if (!hasCamera) {
        lines.push(M.no_camera);
      } else {
        camera.detector = found.detector;
        lines.push(found.source === "native" ? M.camera_native : M.camera_library);
        toggle.hidden = false;
        toggle.textContent = M.start_camera;
      }
      lines.push(M.keyboard);
      capabilities.textContent = lines.join(" ");
      capabilities.dataset.reader = found.source || "none";
    });
  }

  function startCamera() {
    var video = $("video");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        camera.stream = stream;
        video.srcObject = stream;
        video.hidden = false;
        $("camera-toggle").textContent = M.stop_camera;
        $("camera-status").textContent = "";
        return video.play();
      })
      .then(scanFrames)
      .catch(function (error) {
        $("camera-status").textContent = fmt(M.camera_denied, { error: error && error.message ? error.message : String(error) });
        stopCamera();
      });
  }

  function stopCamera() {
    if (camera.timer) { clearTimeout(camera.timer); camera.timer = null; }
    if (camera.stream) {
      camera.stream.getTracks().forEach(function (track) { track.stop(); });
      camera.stream = null;
    }
    var video = $("video");
    video.hidden = true;
    video.srcObject = null;
    $("camera-toggle").textContent = M.start_camera;
  }

  function scanFrames() {
    if (!camera.stream) { return; }
    var video = $("video");
    var next = function () { camera.timer = setTimeout(scanFrames, 150); };
    // Hold still while a result is on screen; staff dismiss it first.
    if (!$("result").hidden || video.readyState < 2) { next(); return; }
    camera.detector.detect(video).then(function (codes) {
      var code = codes && codes.length ? codes[0].rawValue : null;
      var now = Date.now();
      if (code && !(code === lastCamera.id && now - lastCamera.at < REPEAT_MS)) {
        lastCamera = { id: code, at: now };
        return check(code, "camera");
      }
    }).catch(function () { /* a frame that cannot be read: try the next */ })
      .then(next);
  }

  $("camera-toggle").addEventListener("click", function () {
    if (camera.stream) { stopCamera(); } else { startCamera(); }
  });

  if (password) { showScanner(); } else { $("password").focus(); }
})();
