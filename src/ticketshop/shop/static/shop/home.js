/* The event list: upcoming events from get_chapterevents. */
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const { config, api, el, dateTime, priceRange, availability, eventUrl } = Shop;
  const list = document.getElementById("events");
  const result = await api(config.api.chapterevents);
  list.replaceChildren();
  list.setAttribute("aria-busy", "false");
  if (result.status !== 200 || !result.data) {
    list.append(
      el("p", {
        className: "notice error",
        role: "alert",
        text: gettext("The events could not be loaded. Check your connection and reload the page."),
      }),
    );
    return;
  }
  const typesById = Object.fromEntries(result.data.ticket_types.map((type) => [type.id, type]));
  const events = result.data.chapter_events;
  if (!events.length) {
    list.append(el("p", { className: "notice", text: gettext("No events are on sale right now. Welcome back later!") }));
    return;
  }
  const items = el("ul", { className: "cards" });
  for (const event of events) {
    const state = availability(event);
    const headingId = `event-${event.id}-title`;
    const description = event.description.length > 160
      ? `${event.description.slice(0, 157).trimEnd()}…`
      : event.description;
    const card = el("li", { className: `card card-${state.kind}` }, [
      el("article", { "aria-labelledby": headingId }, [
        el("h2", { id: headingId }, [
          el("a", { href: eventUrl(event.id), text: event.title, lang: Shop.textLang("events", event.id) }),
        ]),
        el("p", { className: "event-meta" }, [
          el("time", { datetime: event.event_at, text: dateTime(event.event_at) }),
        ]),
        description ? el("p", { className: "event-description", text: description, lang: Shop.textLang("descriptions", event.id) }) : null,
        el("p", { className: "card-footer" }, [
          el("span", { className: "price", text: priceRange(event, typesById) }),
          state.text ? el("span", { className: `badge badge-${state.kind}`, text: state.text }) : null,
        ]),
      ]),
    ]);
    items.append(card);
  }
  list.append(items);
});
