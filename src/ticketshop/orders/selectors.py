"""Reads that carry a rule, above all the one definition of a live ticket."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Prefetch, Q

from ticketshop.events.models import ChapterEvent, TicketOffer

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


def count_live_tickets(*, event_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Return {event id: live tickets} in one query."""
    rows = (
        Ticket.objects.filter(event_id__in=list(event_ids))
        .filter(live_order_q(now=now, prefix="order__"))
        .values("event_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["event_id"]: row["n"] for row in rows}


def count_live_tickets_by_type(
    *, event_ids: Iterable[int], now: datetime, ticket_type_ids: Iterable[int] | None
) -> dict[tuple[int, int], int]:
    """Return {(event id, ticket type id): live tickets} in one query."""
    tickets = Ticket.objects.filter(event_id__in=list(event_ids))
    if ticket_type_ids is not None:
        tickets = tickets.filter(ticket_type_id__in=list(ticket_type_ids))
    rows = (
        tickets.filter(live_order_q(now=now, prefix="order__"))
        .values("event_id", "ticket_type_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["event_id"], row["ticket_type_id"]): row["n"] for row in rows}


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


def count_tickets_by_state(*, event_ids: Iterable[int], now: datetime) -> dict:
    """Return {event id: {"sold": n, "reserved": n}} for the admin."""
    result: dict[int, dict[str, int]] = defaultdict(lambda: {"sold": 0, "reserved": 0})
    rows = (
        Ticket.objects.filter(event_id__in=list(event_ids))
        .filter(live_order_q(now=now, prefix="order__"))
        .values("event_id", "order__status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        key = "sold" if row["order__status"] == OrderStatus.PAID else "reserved"
        result[row["event_id"]][key] += row["n"]
    return result
