"""Reads that carry a rule, above all the one definition of a live ticket."""

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.signals import post_delete, post_save

from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType

from .models import Order, OrderStatus, Ticket


def live_order_q(*, now: datetime, prefix: str = "") -> Q:
    """Match orders whose tickets hold seats at ``now``.

    Paid orders, orders with a Swish payment in progress, and reservations
    that have not expired. An expired reservation whose payment never started
    stops counting at that very moment, with no job needed to release it.
    """
    return Q(**{f"{prefix}status": OrderStatus.PAID}) | (
        Q(**{f"{prefix}status": OrderStatus.RESERVED})
        & (
            Q(**{f"{prefix}payment_pending": True})
            | Q(**{f"{prefix}expires_at__gt": now})
        )
    )


def _live_tickets_per_event(event_ids: list[int], now: datetime):
    """Live tickets per event: the tickets of the event's live orders.

    Each order holds its number of tickets (``Order.ticket_count``, written
    with them in ``_create_order``), so the count reads the event's orders
    alone, from the index that covers it (``order_live_seats_idx``), with no
    join to the tickets.
    """
    return (
        Order.objects.filter(event_id__in=event_ids)
        .filter(live_order_q(now=now))
        .values("event_id")
        .annotate(n=Sum("ticket_count"))
        .values_list("event_id", "n")
        .order_by()
    )


# The count above, compiled by the ORM once per process, database and number
# of events: building and compiling it took 0.76 of its 1.03 ms of CPU, under
# the seat lock. Placeholder values mark where each argument goes.
_PLACEHOLDER_ID = -(10**15)
_PLACEHOLDER_NOW = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
_compiled_counts: dict[tuple[str, int], tuple[str, list] | None] = {}


def _compile_live_count(n_events: int) -> tuple[str, list] | None:
    ids = [_PLACEHOLDER_ID - i for i in range(n_events)]
    sql, params = _live_tickets_per_event(ids, _PLACEHOLDER_NOW).query.sql_with_params()
    now_value = connection.ops.adapt_datetimefield_value(_PLACEHOLDER_NOW)
    slots: list = []
    for value in params:
        if value in ids:
            slots.append(("id", ids.index(value)))
        elif value == now_value:
            slots.append(("now", None))
        else:
            slots.append(("value", value))
    placed = [index for kind, index in slots if kind == "id"]
    if (
        sorted(placed) != list(range(n_events))
        or [kind for kind, _ in slots].count("now") != 1
    ):
        return None  # not a shape we can fill in: let the ORM run it each time
    return sql, slots


def count_live_tickets(*, event_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Return {event id: live tickets} in one query (see _live_tickets_per_event)."""
    ids = list(event_ids)
    if not ids:
        return {}
    key = (connection.alias, len(ids))
    if key not in _compiled_counts:
        if len(_compiled_counts) > 64:
            _compiled_counts.clear()
        _compiled_counts[key] = _compile_live_count(len(ids))
    compiled = _compiled_counts[key]
    if compiled is None:
        return dict(_live_tickets_per_event(ids, now))
    sql, slots = compiled
    now_value = connection.ops.adapt_datetimefield_value(now)
    params = [
        ids[index] if kind == "id" else now_value if kind == "now" else index
        for kind, index in slots
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def count_live_tickets_by_type(
    *, event_ids: Iterable[int], now: datetime, ticket_type_ids: Iterable[int] | None
) -> dict[tuple[int, int], int]:
    """Return {(event id, ticket type id): live tickets} in one query.

    The tickets of the event's live orders, counted one by one.
    """
    tickets = Ticket.objects.filter(order__event_id__in=list(event_ids))
    if ticket_type_ids is not None:
        tickets = tickets.filter(ticket_type_id__in=list(ticket_type_ids))
    rows = (
        tickets.filter(live_order_q(now=now, prefix="order__"))
        .values("order__event_id", "ticket_type_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["order__event_id"], row["ticket_type_id"]): row["n"] for row in rows}


def effective_status(order: Order, *, now: datetime) -> str:
    """Return the status a buyer sees: a lapsed, unpaid hold reads as failed."""
    if (
        order.status == OrderStatus.RESERVED
        and not order.payment_pending
        and order.expires_at <= now
    ):
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


for _model, _receiver in (
    (ChapterEvent, listing_changed),
    (TicketOffer, listing_changed),
    (TicketType, listing_changed),
    (Order, listing_written),
):
    for _signal in (post_save, post_delete):
        _signal.connect(
            _receiver, sender=_model, dispatch_uid=f"listing-{_model.__name__}"
        )


def get_order_by_token(*, token: str | None) -> Order | None:
    """Return the order a session's token names, or None."""
    if not token:
        return None
    return Order.objects.filter(token=token).first()


def list_order_lines(*, order: Order) -> list[dict]:
    """Return [{"ticket_type": id, "count": n}] for the order, by ticket type."""
    rows = (
        order.tickets.values("ticket_type_id")
        .annotate(n=Count("id"))
        .order_by("ticket_type_id")
    )
    return [{"ticket_type": r["ticket_type_id"], "count": r["n"]} for r in rows]
