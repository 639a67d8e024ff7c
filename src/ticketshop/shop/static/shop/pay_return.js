/* The page the Swish app returns to: while the payment is pending, ask the
   return link's own status endpoint (1 s, then ×1.5 up to 10 s; at once when
   the tab becomes visible again, and from there 1 s again: shop.js) and
   reload when the state changes. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { config, api, pollTiming, pollPause, nextPollDelay } = Shop;
  if (config.returnState !== "pending" || !config.returnStatus) return;
  (async function poll() {
    let delay = pollTiming.firstMs;
    for (;;) {
      await pollPause(delay);
      const result = await api(config.returnStatus);
      if (result.status === 200 && result.data && result.data.state !== config.returnState) {
        window.location.reload();
        return;
      }
      if (result.status === 400 || result.status === 410) {
        window.location.reload();
        return;
      }
      const line = result.status === 0 || result.status >= 500
        ? ` ${gettext("Connection problems; still trying…")}`
        : ` ${gettext("Waiting for the payment…")}`;
      const node = document.getElementById("return-poll-status").lastChild;
      if (node.textContent !== line) node.textContent = line;
      delay = nextPollDelay(delay);
    }
  })();
});
