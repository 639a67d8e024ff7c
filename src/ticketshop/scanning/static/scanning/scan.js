/* The door scanner page: password once, then QR codes from the camera,
 * typed ids, or a hand-held scanner that types the id and Enter. Each answer
 * of PUT /validate_ticket/ fills the screen: green, amber or red. */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = script.dataset.api;
  var LOGIN_API = script.dataset.login;
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
  var lastCamera = { id: null, at: 0 };
  var audio = null;
  var camera = { stream: null, detector: null, timer: null };

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function normaliseId(raw) {
    var text = String(raw || "").trim();
    // A QR code may hold a URL ending in the id.
    if (text.indexOf("/") !== -1) {
      var parts = text.split(/[/?#=]/).filter(Boolean);
      text = parts.length ? parts[parts.length - 1] : "";
    }
    return text.toUpperCase();
  }

  function send(method, url, payload) {
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  // Each answer carries the password it was asked with: a 401 for a password
  // that is no longer the current one is stale and must not log anyone out.
  function validate(externalId, useTicket) {
    var asked = password;
    return send("PUT", API, { external_id: externalId, password: asked, use_ticket: useTicket })
      .then(function (answer) { answer.password = asked; return answer; });
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

  function showResult(kind, title, detail, id, canAdmit) {
    var result = $("result");
    result.className = "result " + kind;
    result.dataset.kind = kind;
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
    shownId = null;
    $("ticket-id").focus();
  }

  function describe(body) {
    var parts = [body.chapter_event];
    if (body.ticket_type_title) { parts.push(body.ticket_type_title); }
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
    if (answer.status === 401) {
      if (answer.password === password) { logout(M.wrong_password); }
      return;
    }
    if (answer.status === 429) { showResult("red", M.too_many, "", id, false); return; }
    if (answer.status === 404) { showResult("red", M.unknown, "", id, false); return; }
    if (answer.status !== 200) { showResult("red", M.invalid, String(answer.status), id, false); return; }
    var detail = describe(body);
    if (body.status === "WrongEvent") { showResult("red", M.wrong_event, detail, body.external_id, false); return; }
    if (body.status !== "PAID") { showResult("red", M.not_paid, detail + " · " + body.status, body.external_id, false); return; }
    if (body.times_used === 0) {
      var title = body.admitted ? (useRequested === "button" ? M.admitted : M.ok) : M.valid;
      showResult("green", title, detail, body.external_id, !body.admitted);
      return;
    }
    var amberTitle = body.admitted ? M.admitted + " · " + usedText(body.times_used) : usedText(body.times_used);
    showResult("amber", amberTitle, detail, body.external_id, !body.admitted);
  }

  function check(rawId, how) {
    var id = normaliseId(rawId);
    if (!id) { return Promise.resolve(); }
    var useTicket = how === "button" || $("auto-admit").checked;
    return validate(id, useTicket).then(function (answer) {
      render(answer, id, how);
    }, function () {
      showResult("red", M.network, "", id, false);
    });
  }

  /* --- password ---------------------------------------------------------- */

  function showScanner() {
    $("login").hidden = true;
    $("scanner").hidden = false;
    $("ticket-id").focus();
    setUpCamera();
  }

  function loginFailed(message) {
    if (password) { return; }
    logout(message);
    $("password").setAttribute("aria-invalid", "true");
  }

  function logout(message) {
    stopCamera();
    password = "";
    sessionStorage.removeItem(STORAGE_KEY);
    loginAttempt++;
    $("result").hidden = true;
    $("scanner").hidden = true;
    $("login").hidden = false;
    var error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("password").value = "";
    $("password").focus();
  }

  // Only the answer to the latest login attempt counts: a slow "wrong
  // password" for an earlier attempt never undoes a later success.
  var loginAttempt = 0;

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var tried = $("password").value;
    var attempt = ++loginAttempt;
    send("POST", LOGIN_API, { password: tried }).then(function (answer) {
      if (attempt !== loginAttempt) { return; }
      if (answer.status === 401) { loginFailed(M.wrong_password); return; }
      if (answer.status === 429) { loginFailed(M.too_many); return; }
      if (answer.status !== 200) { loginFailed(M.invalid + " (" + answer.status + ")"); return; }
      password = tried;
      sessionStorage.setItem(STORAGE_KEY, password);
      $("login-error").hidden = true;
      $("password").removeAttribute("aria-invalid");
      showScanner();
    }, function () {
      if (attempt === loginAttempt) { loginFailed(M.network); }
    });
    // Audio may start only after a gesture such as this one.
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  });

  $("logout").addEventListener("click", function () { logout(""); });

  /* --- typed ids and hand-held scanners --------------------------------- */

  $("manual-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = $("ticket-id");
    var value = field.value;
    field.value = "";
    check(value, "typed");
  });

  $("admit").addEventListener("click", function () {
    if (shownId) { check(shownId, "button"); }
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
  window.ticketScanner = { detectorReady: detectorReady, check: check };

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
