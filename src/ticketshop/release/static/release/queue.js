// The queue page: polls the status API at the random interval the server
// gives, updates the people-ahead count in place (the region is aria-live,
// so screen readers hear it) and reloads the page when the state changes.
// Without JavaScript, a meta refresh reloads the page instead.
(function () {
  "use strict";
  var region = document.getElementById("queue-status");
  if (!region) { return; }
  var url = region.getAttribute("data-status-url");
  var state = region.getAttribute("data-state");
  var wait = parseInt(region.getAttribute("data-poll"), 10) || 6;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        if (status.state !== state || (status.place !== null && !region.querySelector("[data-ahead]"))) {
          window.location.reload();
          return;
        }
        var ahead = region.querySelector("[data-ahead]");
        if (ahead && status.people_ahead !== null) {
          ahead.textContent = String(status.people_ahead);
        }
        wait = status.poll_after_seconds || wait;
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, wait * 1000); });
  }
  window.setTimeout(poll, wait * 1000);
})();
