/* Shared helpers of the shop's pages: the public API, formatting, messages.
   Plain JavaScript, no build step. Translations come from Django's
   JavaScript catalogue (the globals gettext, ngettext, interpolate), loaded
   before this file. */
"use strict";

window.Shop = (function () {
  const config = JSON.parse(document.getElementById("shop-config").textContent);
  const lang = document.documentElement.lang || "sv";
  const locale = lang === "en" ? "en-GB" : "sv-SE";
  const fmt = (text, values) => interpolate(text, values, true);

  /* Call the API with the session cookie; never throws for an HTTP status.
     Returns {status, data, headers}; status 0 means no answer (offline). */
  async function api(path, options = {}) {
    const init = {
      method: options.method || "GET",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      return { status: 0, data: null, headers: new Headers() };
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
    }
    return { status: response.status, data, headers: response.headers };
  }

  /* The contract's error string of a response ("OutOfTickets" for its object). */
  function errorCode(result) {
    if (result.data && typeof result.data === "object" && result.data.error) {
      return result.data.error;
    }
    return typeof result.data === "string" ? result.data : "";
  }

  function money(amount) {
    const value = Number(amount);
    const whole = Number.isInteger(value);
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: "SEK",
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: 2,
    }).format(value);
  }

  function dateTime(iso) {
    return new Intl.DateTimeFormat(locale, {
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: config.timeZone,
    }).format(new Date(iso));
  }

  function priceRange(event, typesById) {
    const prices = event.ticket_types
      .map((id) => typesById[id])
      .filter(Boolean)
      .map((type) => Number(type.price));
    if (!prices.length) return "";
    const low = Math.min(...prices);
    const high = Math.max(...prices);
    return low === high ? money(low) : `${money(low)} – ${money(high)}`;
  }

  /* Whether an event is sold out, nearly so, or not yet on sale. */
  function availability(event, now = new Date()) {
    if (event.sales_start_at && new Date(event.sales_start_at) > now) {
      return {
        kind: "soon",
        text: fmt(gettext("Sales open %(date)s"), { date: dateTime(event.sales_start_at) }),
      };
    }
    if (event.tickets_left <= 0) return { kind: "soldout", text: gettext("Sold out") };
    if (event.tickets_left <= config.fewLeft) {
      return {
        kind: "few",
        text: fmt(ngettext("Few left: %(n)s ticket", "Few left: %(n)s tickets", event.tickets_left), {
          n: event.tickets_left,
        }),
      };
    }
    return { kind: "open", text: "" };
  }

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children)) {
      if (child) node.append(child);
    }
    return node;
  }

  function show(node, visible = true) {
    if (node) node.hidden = !visible;
  }

  /* Move focus to a heading or message so screen readers announce it. */
  function focus(node) {
    if (!node) return;
    if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
    node.focus({ preventScroll: false });
  }

  function eventUrl(id) {
    return config.urls.event.replace("{id}", String(id));
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /* "sv" for an organiser's text shown in Swedish on an English page (it has
     no English version), so that screen readers read it as Swedish; else
     undefined. kind: events, descriptions, ticketTypes, typeDescriptions. */
  function textLang(kind, id) {
    const swedishOnly = (config.swedishOnly || {})[kind] || [];
    return lang !== "sv" && swedishOnly.includes(Number(id)) ? "sv" : undefined;
  }

  function markLang(node, kind, id) {
    const value = textLang(kind, id);
    if (value) node.setAttribute("lang", value);
    else node.removeAttribute("lang");
  }

  // The polling pages (pay, and the page the Swish app returns to) ask
  // after 1 s, then ×1.5 up to 10 s, and at once when the tab becomes
  // visible again (the buyer is back from the Swish app). From that return
  // they start over at 1 s: the shop reads Swish in its worker once Swish's
  // callback comes, so the payment is often settled a moment after the
  // buyer is back rather than at that first ask, and the next one should
  // not be 10 s away.
  const pollTiming = { firstMs: 1000, maxMs: 10000, backoff: 1.5 };
  let wakePoll = null;
  let cameBack = false;

  function pollPause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakePoll = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  // The pause after an ask that did not settle: 1 s again if the buyer came
  // back since the last one (during the pause or the ask), else the next step.
  function nextPollDelay(delay) {
    const again = cameBack;
    cameBack = false;
    return again ? pollTiming.firstMs : Math.min(delay * pollTiming.backoff, pollTiming.maxMs);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    cameBack = true;
    if (wakePoll) wakePoll();
  });

  return {
    config, lang, fmt, api, errorCode, money, dateTime, priceRange,
    availability, el, show, focus, eventUrl, sleep, textLang, markLang,
    pollTiming, pollPause, nextPollDelay,
  };
})();
