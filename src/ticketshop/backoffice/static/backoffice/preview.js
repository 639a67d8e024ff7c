// A courtesy: once a previewed form no longer says what its preview showed,
// disable its "Yes" button and say why. The server refuses such a
// confirmation anyway (ticketshop.previews); this only saves a round trip.
(function () {
  "use strict";
  var IGNORED = { csrfmiddlewaretoken: true, snapshot: true };

  function state(form) {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (!IGNORED[name]) pairs.push([name, String(value)]);
    });
    return JSON.stringify(pairs);
  }

  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var yes = form.querySelector("[data-confirm]");
    if (!yes) return;
    var note = form.querySelector("[data-stale-note]");
    var shown = state(form);
    function check() {
      var changed = state(form) !== shown;
      yes.disabled = changed;
      yes.setAttribute("aria-disabled", changed ? "true" : "false");
      if (note) note.hidden = !changed;
    }
    form.addEventListener("input", check);
    form.addEventListener("change", check);
  });
})();
