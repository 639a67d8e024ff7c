/* The confirmation page: reference, e-mail and one QR code per ticket, shown
   as soon as the order is paid. */
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const { config, fmt, api, money, el, show, focus, eventUrl } = Shop;
  const $ = (id) => document.getElementById(id);

  function notConfirmed(title, reason, link, linkText) {
    show($("confirm-loading"), false);
    $("not-confirmed-title").textContent = title;
    $("not-confirmed-reason").textContent = reason;
    $("not-confirmed-link").href = link;
    $("not-confirmed-link").textContent = linkText;
    show($("not-confirmed"), true);
    focus($("not-confirmed-title"));
  }

  const result = config.hasOrder ? await api(config.api.status) : { status: 400, data: null };
  if (result.status !== 200 || !result.data) {
    notConfirmed(
      gettext("No purchase found"),
      result.status === 400
        ? gettext("This browser holds no order. Tickets you bought are in your e-mail.")
        : gettext("Your order could not be loaded. Check your connection and reload the page."),
      config.urls.home,
      gettext("To the events"),
    );
    return;
  }
  const order = result.data;
  if (order.status === "RESERVED") {
    notConfirmed(gettext("The payment is not finished"), gettext("Your order is not paid yet."), config.urls.pay, gettext("To the payment"));
    return;
  }
  if (order.status !== "PAID") {
    notConfirmed(
      gettext("This order was not paid"),
      gettext("Nothing was charged. You are welcome to choose your tickets again."),
      eventUrl(order.chapter_event),
      gettext("Start again"),
    );
    return;
  }

  // Titles are for display only; the QR codes do not depend on them.
  const listing = await api(config.api.chapterevents);
  let typeTitles = {};
  if (listing.status === 200 && listing.data) {
    typeTitles = Object.fromEntries(listing.data.ticket_types.map((type) => [type.id, type.title]));
    const event = listing.data.chapter_events.find((item) => item.id === order.chapter_event);
    if (event) {
      $("confirm-event").textContent = event.title;
      Shop.markLang($("confirm-event"), "events", event.id);
    }
  }
  if (!$("confirm-event").textContent) $("confirm-event").closest("div").hidden = true;
  $("confirm-reference").textContent = order.reference || "–";
  $("confirm-email").textContent = order.mail || "–";
  $("confirm-total").textContent = money(order.total_price);

  // Tickets are numbered in ticket-type order, as the order lists its lines.
  const typeOfTicket = order.tickets.flatMap((line) => Array(line.count).fill(line.ticket_type));
  const ids = order.external_ids || [];
  const total = ids.length;
  $("tickets").replaceChildren(
    ...ids.map((id, index) => {
      const title = typeOfTicket.length === total ? typeTitles[typeOfTicket[index]] : "";
      return el("li", { className: "ticket" }, [
        el("figure", {}, [
          el("img", {
            src: config.urls.ticketQr.replace("{id}", encodeURIComponent(id)),
            alt: fmt(gettext("QR code of ticket %(id)s"), { id }),
            width: "220",
            height: "220",
            className: "ticket-qr",
          }),
          el("figcaption", {}, [
            el("span", { className: "ticket-number", text: fmt(gettext("Ticket %(n)s of %(total)s"), { n: index + 1, total }) }),
            title ? el("span", { className: "ticket-type", text: title, lang: Shop.textLang("ticketTypes", typeOfTicket[index]) }) : null,
            el("span", { className: "code ticket-id", text: id }),
          ]),
        ]),
      ]);
    }),
  );
  show($("confirm-loading"), false);
  show($("confirmed"), true);
  focus($("confirmed-title"));
  $("print-button").addEventListener("click", () => window.print());
});
