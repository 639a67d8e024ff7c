/* The payment page: open Swish (phone) or show its QR code (computer), poll
   session_payment_status with back-off and move on by itself. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { config, api, errorCode, money, show, focus, eventUrl, fmt, sleep, pollTiming, pollPause, nextPollDelay } = Shop;
  const $ = (id) => document.getElementById(id);
  const GIVE_UP_MS = 15 * 60 * 1000;
  const BUSY_ATTEMPTS = 30;

  const isPhone =
    /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent) ||
    (window.matchMedia("(pointer: coarse)").matches && navigator.maxTouchPoints > 0);
  let phoneMode = isPhone;
  let polling = false;
  let eventIdOfOrder = null;

  function fail(title, reason, { retry = false, restart = true } = {}) {
    polling = false;
    show($("pay-loading"), false);
    show($("pay-waiting"), false);
    $("fail-title").textContent = title;
    $("fail-reason").textContent = reason;
    $("restart-link").href = eventIdOfOrder ? eventUrl(eventIdOfOrder) : config.urls.home;
    show($("restart-link"), restart);
    show($("retry-button"), retry);
    show($("pay-failed"), true);
    focus($("fail-title"));
  }

  /* Why a payment failed, from the Swish request's own state when known
     (the extra payment_status and payment_error keys of the status call). */
  function failureReason(order) {
    const nothing = gettext("Nothing was charged, and the seats went back on sale.");
    const code = order.payment_error;
    let why;
    if (order.payment_status === "DECLINED" || code === "RF07") {
      why = gettext("The payment was declined in Swish.");
    } else if (order.payment_status === "CANCELLED" || code === "BANKIDCL") {
      why = gettext("The payment was cancelled.");
    } else if (code === "TM01") {
      why = gettext("The payment was not approved in time, so Swish stopped it.");
    } else if (code === "DS24") {
      return gettext("Swish got no answer from your bank. If money was drawn from your account, contact the organiser with your e-mail address.");
    } else if (order.payment_status === "ERROR") {
      why = interpolate(gettext("Swish could not carry out the payment (code %(code)s)."), { code: code || "?" }, true);
    } else if (order.mail) {
      why = gettext("The payment was declined, cancelled or timed out in Swish, or the reservation ran out.");
    } else {
      why = gettext("The reservation ran out before a payment was started.");
    }
    return `${why} ${nothing}`;
  }

  /* Show the page for the order's final state; true when polling may stop. */
  function settle(result) {
    if (result.status === 400) {
      fail(gettext("No order found"), gettext("There is no reservation in this browser. The shop needs cookies to keep it. Choose your tickets again."));
      return true;
    }
    if (result.status !== 200 || !result.data) return false;
    const order = result.data;
    eventIdOfOrder = order.chapter_event;
    switch (order.status) {
      case "PAID":
        polling = false;
        window.location.replace(config.urls.confirmation);
        return true;
      case "RESERVED":
        // DS24: Swish lost the bank's answer. Final for this page: the
        // buyer checks with the bank; an organiser settles the order.
        if (order.payment_status === "ERROR" && order.payment_error === "DS24") {
          fail(gettext("Check with your bank"),
            `${gettext("Swish did not get an answer from your bank, so neither Swish nor the shop knows whether the money was drawn. Check your bank account or the Swish app.")} ${gettext("If the money was drawn, the organiser confirms it with the bank and e-mails your tickets. If it was not, nothing was charged. Your tickets stay reserved for you meanwhile; do not pay again.")}`,
            { restart: false });
          return true;
        }
        return false;
      case "FAILED_EXPIRED_RESERVATION":
        if (order.payment_status === "PAID") {
          // The money arrived after the order was given up and its seats
          // were gone: the organiser pays it back.
          fail(gettext("Your payment arrived after the seats were gone"),
            order.refund_state === "REFUNDED"
              ? gettext("Swish took the payment after your reservation had ended, and the seats were no longer free. The money has been paid back to the Swish account you paid from.")
              : gettext("Swish took the payment after your reservation had ended, and the seats were no longer free. The organiser has been told and pays the money back to the Swish account you paid from; you need not do anything."));
          return true;
        }
        fail(gettext("The payment did not go through"), failureReason(order));
        return true;
      case "FAILED_ADMIN":
        fail(gettext("The order was cancelled"), gettext("The organiser cancelled this order. If you paid, the money is returned to you."));
        return true;
      default:
        return false;
    }
  }

  function renderMethod(token) {
    show($("pay-phone"), phoneMode);
    show($("pay-desktop"), !phoneMode);
    $("toggle-method").textContent = phoneMode
      ? gettext("Swish is on another device? Show the QR code")
      : gettext("Swish is on this device? Open the Swish app");
    if (!phoneMode && !$("swish-qr").getAttribute("src")) {
      $("swish-qr").src = config.api.generateQr + encodeURIComponent(token);
    }
  }

  function showWaiting(order, token) {
    show($("pay-loading"), false);
    $("pay-amount").textContent = money(order.total_price);
    // Back from the Swish app: the order's signed return link, which works
    // without this browser's cookie (another browser, an in-app browser).
    const back = window.location.origin + (config.urls.payReturn || config.urls.pay);
    $("open-swish").href =
      `swish://paymentrequest?token=${encodeURIComponent(token)}&callbackurl=${encodeURIComponent(back)}`;
    $("toggle-method").onclick = () => {
      phoneMode = !phoneMode;
      renderMethod(token);
    };
    renderMethod(token);
    const simulator = $("simulator-link");
    if (simulator && config.simulatorPay) {
      simulator.href = `${config.simulatorPay}${encodeURIComponent(token)}/`;
    }
    show($("pay-waiting"), true);
    // Focus the page's heading: keyboard and screen-reader users start here,
    // not on the page's body.
    focus($("pay-title"));
  }

  // start_payment answers 503 "Busy" when the shop has as many calls to
  // Swish running as it allows: wait its Retry-After and ask again.
  async function requestPayment(order) {
    for (let attempt = 1; ; attempt++) {
      const result = await api(config.api.startPayment, {
        method: "POST",
        body: { email_address: order.mail },
      });
      if (errorCode(result) !== "Busy" || attempt >= BUSY_ATTEMPTS) return result;
      const wait = Math.min(10, Number(result.headers.get("Retry-After")) || 2);
      $("pay-loading").querySelector("p").textContent = fmt(gettext("Many people are buying tickets right now. Trying again in %(n)s s…"), { n: wait });
      await sleep(wait * 1000);
    }
  }

  async function startPayment(order) {
    const result = await requestPayment(order);
    if (result.status === 200 && typeof result.data === "string") return result.data;
    switch (errorCode(result)) {
      case "AlreadyPaidPayment":
        window.location.replace(config.urls.confirmation);
        return null;
      case "SessionExpired":
        fail(gettext("Your reservation has expired"), gettext("The time to pay ran out and the seats have been taken by others. Nothing was charged."));
        return null;
      case "InvalidSession":
        fail(gettext("No order found"), gettext("There is no reservation in this browser. The shop needs cookies to keep it. Choose your tickets again."));
        return null;
      case "PaymentStartFailed":
        fail(gettext("Swish could not be reached"), gettext("The payment could not be started right now. Your tickets are still reserved: please try again."), { retry: true });
        return null;
      default:
        fail(gettext("The payment could not be started"), result.status === 0
          ? gettext("No connection to the shop. Check your connection and try again.")
          : gettext("Something went wrong on our side. Please try again in a moment."), { retry: true });
        return null;
    }
  }

  async function poll() {
    polling = true;
    const started = Date.now();
    let delay = pollTiming.firstMs;
    while (polling) {
      await pollPause(delay);
      if (!polling) return;
      const result = await api(config.api.status);
      if (settle(result)) return;
      const trouble = result.status === 0 || result.status >= 500;
      const line = trouble
        ? ` ${gettext("Connection problems; still trying…")}`
        : ` ${gettext("Waiting for the payment…")}`;
      // The status line is a live region: rewrite it only when it changes,
      // or screen readers repeat it at every poll.
      const node = $("pay-poll-status").lastChild;
      if (node.textContent !== line) node.textContent = line;
      if (Date.now() - started > GIVE_UP_MS) {
        fail(gettext("No answer from Swish yet"), gettext("The payment has not been confirmed. If you approved it in Swish, check again in a moment."), { retry: true });
        return;
      }
      delay = nextPollDelay(delay);
    }
  }

  async function begin() {
    show($("pay-failed"), false);
    show($("pay-loading"), true);
    if (!config.hasOrder) {
      fail(gettext("No order found"), gettext("There is no reservation in this browser. The shop needs cookies to keep it. Choose your tickets again."));
      return;
    }
    const result = await api(config.api.status);
    if (settle(result)) return;
    if (result.status !== 200) {
      fail(gettext("The order could not be loaded"), result.status === 0
        ? gettext("No connection to the shop. Check your connection and try again.")
        : gettext("Something went wrong on our side. Please try again in a moment."), { retry: true });
      return;
    }
    const order = result.data;
    if (!order.mail) {
      fail(gettext("The payment has not been started"), gettext("Go back to the event, check your order and press “Pay with Swish”."));
      return;
    }
    // start_payment answers with the running request's token when one exists.
    const token = await startPayment(order);
    if (!token) return;
    showWaiting(order, token);
    poll();
  }

  $("retry-button").addEventListener("click", begin);
  begin();
});
