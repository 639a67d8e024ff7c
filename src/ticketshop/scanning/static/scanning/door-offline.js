/* What the scanner page needs to keep working without network:
 *
 * - verifyPayload(): the Ed25519 signature of a ticket's QR payload
 *   ("TS1.<id>.<event>.<signature>"), checked with WebCrypto and the shop's
 *   public key, exactly as ticketshop.orders.signing does on the server
 *   (the same test vectors check both);
 * - a small IndexedDB store: the door list downloaded from /scan/door/ and
 *   the queue of scans made offline, in the order they were made.
 *
 * No library: IndexedDB's own API is wrapped in a few promises, and Ed25519
 * is in WebCrypto (Chromium, Firefox, Safari). Exposed as window.DoorOffline. */
(function () {
  "use strict";

  var PREFIX = "TS1";
  var DB_NAME = "ticketshop-door";
  var DB_VERSION = 1;

  /* --- signed payloads ---------------------------------------------------- */

  function b64urlDecode(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) { return null; }
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary;
    try { binary = atob(base64); } catch (e) { return null; }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes;
  }

  function b64urlEncode(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function looksSigned(text) {
    return String(text || "").trim().indexOf(PREFIX + ".") === 0;
  }

  var keys = {};

  function importKey(publicKeyText) {
    if (!keys[publicKeyText]) {
      var raw = b64urlDecode(publicKeyText);
      keys[publicKeyText] = raw && raw.length === 32 && window.crypto && crypto.subtle
        ? crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"])
        : Promise.reject(new Error("no Ed25519 key"));
    }
    return keys[publicKeyText];
  }

  /* Resolves to {externalId, eventId} for a genuine payload, or null. */
  function verifyPayload(publicKeyText, payload) {
    var parts = String(payload || "").trim().split(".");
    if (parts.length !== 4 || parts[0] !== PREFIX) { return Promise.resolve(null); }
    var externalId = parts[1], event = parts[2], signature = b64urlDecode(parts[3]);
    if (!/^[A-Za-z0-9]+$/.test(externalId) || !/^[0-9]+$/.test(event)) { return Promise.resolve(null); }
    // Only the canonical spelling, as on the server: one payload, one text.
    if (!signature || signature.length !== 64 || b64urlEncode(signature) !== parts[3]) {
      return Promise.resolve(null);
    }
    var message = new TextEncoder().encode([PREFIX, externalId, String(Number(event))].join("."));
    return importKey(publicKeyText).then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    }).then(function (ok) {
      return ok ? { externalId: externalId, eventId: Number(event) } : null;
    }, function () { return null; });
  }

  var supported = null;
  function ed25519Supported() {
    // A fixed key of the RFC 8032 test vectors: importable where Ed25519 is.
    if (!supported) {
      supported = importKey("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").then(
        function () { return true; }, function () { return false; });
    }
    return supported;
  }

  /* --- a ticket's state in the door list -------------------------------- */

  /* Returns {state, reason, movedTo, uses} for a door-list entry:
   * state "valid", "used", "revoked" (reason "refunded", "exchanged" with
   * movedTo the night, or "cancelled") or "not_paid". A list from before
   * ticket_states existed is read from its status and revoked ids. */
  function ticketState(list, id, entry) {
    var known = list.ticket_states && list.ticket_states[id];
    if (known) {
      return {
        state: known.state,
        reason: known.reason || null,
        movedTo: known.moved_to || null,
        uses: entry ? entry[2] : (known.uses || 0)
      };
    }
    var uses = entry ? entry[2] : 0;
    var revoked = (list.revoked || []).indexOf(id) !== -1;
    if (entry && entry[1] === "FAILED_ADMIN") {
      return { state: "revoked", reason: "cancelled", movedTo: null, uses: uses };
    }
    if (revoked || !entry || entry[1] !== "PAID") {
      return { state: "not_paid", reason: null, movedTo: null, uses: uses };
    }
    return { state: uses ? "used" : "valid", reason: null, movedTo: null, uses: uses };
  }

  /* --- the password the list was downloaded with ------------------------- */

  /* Resolves to {salt, hash} (PBKDF2-SHA-256, base64url), or null where the
   * browser has no WebCrypto: the page then cannot start offline. */
  function passwordCheck(password, salt) {
    if (!window.crypto || !crypto.subtle) { return Promise.resolve(null); }
    var saltBytes = salt ? b64urlDecode(salt) : crypto.getRandomValues(new Uint8Array(16));
    if (!saltBytes) { return Promise.resolve(null); }
    return crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"])
      .then(function (key) {
        return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: saltBytes, iterations: 100000 }, key, 256);
      })
      .then(function (bits) {
        return { salt: b64urlEncode(saltBytes), hash: b64urlEncode(new Uint8Array(bits)) };
      }, function () { return null; });
  }

  /* Resolves to true when the password is the one the saved list came with. */
  function matchesList(door, password) {
    if (!door || !door.check || !password) { return Promise.resolve(false); }
    return passwordCheck(password, door.check.salt).then(function (check) {
      return !!check && check.hash === door.check.hash;
    });
  }

  /* --- IndexedDB ---------------------------------------------------------- */

  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var database = request.result;
          database.createObjectStore("door");
          // autoIncrement: the queue is read back in the order of the scans.
          database.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function run(storeName, mode, work) {
    return db().then(function (database) {
      return new Promise(function (resolve, reject) {
        var tx = database.transaction(storeName, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
        var request = work(tx.objectStore(storeName));
        if (request) { request.onsuccess = function () { result = request.result; }; }
      });
    });
  }

  function loadDoor() { return run("door", "readonly", function (s) { return s.get("list"); }); }
  function saveDoor(list) { return run("door", "readwrite", function (s) { return s.put(list, "list"); }); }
  function enqueue(scan) { return run("queue", "readwrite", function (s) { return s.add(scan); }); }
  function queued() { return run("queue", "readonly", function (s) { return s.getAll(); }); }
  function dequeue(seqs) {
    return run("queue", "readwrite", function (s) {
      seqs.forEach(function (seq) { s.delete(seq); });
    });
  }

  window.DoorOffline = {
    looksSigned: looksSigned,
    verifyPayload: verifyPayload,
    ed25519Supported: ed25519Supported,
    ticketState: ticketState,
    passwordCheck: passwordCheck,
    matchesList: matchesList,
    loadDoor: loadDoor,
    saveDoor: saveDoor,
    enqueue: enqueue,
    queued: queued,
    dequeue: dequeue
  };
})();
