"""Reads for the buyer's API: the listing (with its per-process cache), the
status a buyer sees, an order's lines. The seat rules live in orders.seats."""

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch

from ticketshop.db import sql
from ticketshop.events.models import ChapterEvent, TicketOffer

from .models import Order, OrderStatus, Ticket
from .seats import count_live_tickets, count_live_tickets_by_type, is_lapsed

__all__ = ["count_live_tickets", "count_live_tickets_by_type", "effective_status"]


def effective_status(order, *, now: datetime) -> str:
    """Return the status a buyer sees: a lapsed hold reads as failed at once
    (the lapse rule of orders.seats), before the sweep records it."""
    if is_lapsed(order, now=now):
        return OrderStatus.FAILED_EXPIRED_RESERVATION
    return order.status


def list_chapterevents(*, now: datetime) -> dict:
    """Return the events on sale with their visible ticket types and seats left.

    A fixed number of queries whatever the number of events: events, offers
    with their ticket types, live tickets per event, live tickets per limited
    ticket type.
    """
    visible_offers = (
        TicketOffer.objects.filter(ticket_type__visible=True)
        .select_related("ticket_type")
        .order_by("ticket_type_id")
    )
    events = list(
        ChapterEvent.objects.filter(sales_stop_at__gt=now)
        .order_by("event_at", "id")
        .prefetch_related(Prefetch("offers", queryset=visible_offers))
    )
    event_ids = [event.id for event in events]
    live = count_live_tickets(event_ids=event_ids, now=now) if events else {}
    limited = {
        (event.id, offer.ticket_type_id)
        for event in events
        for offer in event.offers.all()
        if offer.limit is not None
    }
    live_by_type = (
        count_live_tickets_by_type(
            event_ids={e for e, _ in limited},
            ticket_type_ids={t for _, t in limited},
            now=now,
        )
        if limited
        else {}
    )
    ticket_types = {}
    rows = []
    for event in events:
        left = max(0, event.seats - live.get(event.id, 0))
        type_limits = {}
        for offer in event.offers.all():
            ticket_types[offer.ticket_type_id] = offer.ticket_type
            if offer.limit is not None:
                used = live_by_type.get((event.id, offer.ticket_type_id), 0)
                type_limits[str(offer.ticket_type_id)] = max(
                    0, min(offer.limit - used, left)
                )
        rows.append(
            {
                "event": event,
                "ticket_type_ids": [
                    offer.ticket_type_id for offer in event.offers.all()
                ],
                "tickets_left": left,
                "ticket_type_limits": type_limits,
            }
        )
    return {
        "events": rows,
        "ticket_types": [ticket_types[key] for key in sorted(ticket_types)],
    }


# How soon after a write in this process its cached listing is counted again.
LISTING_GRACE_AFTER_WRITE = 0.1


class _ListingCache:
    """The rendered event listing, kept for a moment by each process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[bytes, float, float] | None = None  # body, started, until
        self.last_write = 0.0
        self.last_change = 0.0

    def fresh(self, entry: tuple[bytes, float, float] | None, now: float) -> bool:
        if entry is None:
            return False
        _, started, until = entry
        return (
            now < until
            and started > self.last_change
            and (started > self.last_write or now < started + LISTING_GRACE_AFTER_WRITE)
        )


_listing_cache = _ListingCache()


def cached_chapterevents(build: Callable[[], bytes]) -> bytes:
    """Return the rendered listing, counted at most once per process and
    ``CHAPTEREVENTS_CACHE_SECONDS`` (default 1 s; 0 turns the cache off).

    So ``tickets_left`` is never older than that: each worker process counts
    again once its copy is that old (timed from the start of the counting).
    A reservation or an order saved in this process makes its copy expire
    within 0.1 s of when it was counted; an event, offer or ticket type saved
    or deleted in this process drops it at once. Inside a transaction the
    listing is neither served from nor stored in the cache, as it could show
    or hide that transaction's uncommitted writes.
    """
    seconds = getattr(settings, "CHAPTEREVENTS_CACHE_SECONDS", 1.0)
    if seconds <= 0 or connection.in_atomic_block:
        return build()
    cache = _listing_cache
    entry = cache.entry
    if cache.fresh(entry, time.monotonic()):
        return entry[0]
    # One thread of the process counts; the others wait for its result.
    with cache.lock:
        entry = cache.entry
        if cache.fresh(entry, time.monotonic()):
            return entry[0]
        started = time.monotonic()
        body = build()
        cache.entry = (body, started, started + seconds)
        return body


def listing_written(**kwargs) -> None:
    """Note a write that changes seats left (a reservation, an order saved)."""
    _listing_cache.last_write = time.monotonic()


def listing_changed(**kwargs) -> None:
    """Note a write that changes which events or types are listed."""
    _listing_cache.last_change = time.monotonic()


def list_order_lines(*, order: Order) -> list[dict]:
    """Return [{"ticket_type": id, "count": n}] for the order, by ticket type
    (every status poll asks it: one statement written once per process)."""
    alias = connection.alias
    with sql.prepared_cursor(alias) as cursor:
        cursor.execute(_order_lines_sql(alias), [order.pk])
        rows = cursor.fetchall()
    return [{"ticket_type": type_id, "count": n} for type_id, n in rows]


@cache
def _order_lines_sql(alias: str) -> str:
    """An order's live tickets counted per ticket type; parameter: the
    order's id."""
    ticket_type = sql.column(Ticket, "ticket_type", "t", using=alias)
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {ticket_type}, COUNT(*)"  # noqa: S608
        f" FROM {sql.table(Ticket, 't', using=alias)}"
        f" WHERE {sql.column(Ticket, 'order', 't', using=alias)} = %s"
        f" AND {sql.column(Ticket, 'cancelled_at', 't', using=alias)} IS NULL"
        f" GROUP BY {ticket_type} ORDER BY {ticket_type}"
    )
