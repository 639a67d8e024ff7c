/* The page the Swish app returns to: while the payment is pending, ask the
   return link's own status endpoint (1 s, then ×1.5 up to 10 s; at once when
   the tab becomes visible again) and reload when the state changes. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { config, api } = Shop;
  if (config.returnState !== "pending" || !config.returnStatus) return;
  const FIRST_DELAY_MS = 1000;
  const MAX_DELAY_MS = 10000;
  const BACKOFF = 1.5;
  let wake = null;

  function pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && wake) wake();
  });

  (async function poll() {
    let delay = FIRST_DELAY_MS;
    for (;;) {
      await pause(delay);
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
      delay = Math.min(delay * BACKOFF, MAX_DELAY_MS);
    }
  })();
});
