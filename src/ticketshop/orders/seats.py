"""Seats: which orders hold them, how many are left, and the one capacity check.

The rules, each written once:

- **Lapsed**: a reservation whose time ran out with no Swish payment in
  progress (``is_lapsed``; the sweep's statement in ``orders.lifecycle``
  is the same rule in SQL). It stops holding seats the moment it lapses;
  the sweep later records it as expired, which only tidies: no count waits
  for it.
- **Live**: an order that holds seats: paid, or reserved and not lapsed
  (``live_order_q``; ``holds_seats`` for one order).
- **Capacity** (``check_capacity``): the event's seats and each limited
  ticket type's limit against the live tickets, counted under the event's
  seat lock. Reservation, hold renewal, complimentary tickets and exchanges
  all call it.
- **The counter** (both databases, ``models.SeatCounter``, written only by
  ``seatlock``): a bound never below the live tickets, or unknown. A new
  buyer's reservation of types without limits of their own adds its tickets
  to the counter where they still fit under it, and counts no holds, so its
  cost does not grow with the event's live holds. PostgreSQL takes no seat
  lock for it: the statement that inserts the order adds them
  (``orders.lifecycle.reserve``), and when the counter refuses, the same
  statement counts the seats left without a lock (``seats_left_sql``) and
  refuses too if they are too few. SQLite already holds the database's write
  lock (``BEGIN IMMEDIATE``): ``seatlock.take_seats`` reads the event and
  adds them in two short statements, and a buyer replacing their hold
  releases it first in the same transaction. What the counter refuses but
  the seats may hold goes the way above, under the seat lock, which sets the
  counter unknown until ``check_capacity`` has counted and sets it exact.
  Freed seats lower nothing: the counter stays an upper bound until the next
  such count. ``ops.consistency.check_seats`` reports a counter below the
  live tickets, on either database.

The counts read only orders in ``SEAT_HOLDING_STATUSES`` (the partial index
``order_live_seats_idx``), so their cost follows the seats, not the event's
history of failed and expired orders.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Q

from ticketshop.db import sql
from ticketshop.events.models import ChapterEvent, TicketOffer

from .errors import OutOfTickets
from .models import SEAT_HOLDING_STATUSES, Order, OrderStatus, Ticket
from .seatlock import set_counter_exact


def is_lapsed(order, *, now: datetime) -> bool:
    """The lapse rule: reserved, no payment in progress, and its time is up.

    Reads ``status``, ``payment_pending`` and ``expires_at`` only, so any
    object with those (an Order, a scan's ScannedOrder) can be asked.
    """
    return (
        order.status == OrderStatus.RESERVED
        and not order.payment_pending
        and order.expires_at <= now
    )


def holds_seats(order, *, now: datetime) -> bool:
    """Whether the order's tickets hold seats at ``now`` (``live_order_q``)."""
    return order.status == OrderStatus.PAID or (
        order.status == OrderStatus.RESERVED and not is_lapsed(order, now=now)
    )


def live_order_q(*, now: datetime, prefix: str = "") -> Q:
    """Match orders whose tickets hold seats at ``now``: paid, or reserved
    and not lapsed (a payment in progress holds them past the expiry)."""
    return Q(**{f"{prefix}status": OrderStatus.PAID}) | (
        Q(**{f"{prefix}status": OrderStatus.RESERVED})
        & (
            Q(**{f"{prefix}payment_pending": True})
            | Q(**{f"{prefix}expires_at__gt": now})
        )
    )


def seat_holding_condition(alias: str, of: str | None = None) -> str:
    """SQL: the order (table alias ``of``) is in the partial index of orders
    that may hold seats. The statuses are constants of the code, not input:
    written into the text so that both databases can prove the partial
    index's condition from the query (SQLite needs the very same terms)."""
    statuses = ", ".join(f"'{status}'" for status in SEAT_HOLDING_STATUSES)
    return f"{sql.column(Order, 'status', of)} IN ({statuses})"


def _live_condition(alias: str, of: str) -> str:
    """SQL of ``live_order_q`` over the order table aliased ``of``, with one
    parameter: now."""
    pending = sql.column(Order, "payment_pending", of)
    expires = sql.column(Order, "expires_at", of)
    return (
        f"{seat_holding_condition(alias, of)}"
        f" AND ({sql.column(Order, 'status', of)} = '{OrderStatus.PAID}'"
        f" OR {pending} = %s OR {expires} > %s)"
    )


@cache
def _count_sql(alias: str, n_events: int) -> str:
    event = sql.column(Order, "event", "o")
    return (
        f"SELECT {event}, SUM({sql.column(Order, 'ticket_count', 'o')})"  # noqa: S608
        f" FROM {sql.table(Order, 'o')}"
        f" WHERE {event} IN ({sql.placeholders(n_events)})"
        f" AND {_live_condition(alias, 'o')}"
        f" GROUP BY {event}"
    )


def _live_params(alias: str, now: datetime) -> list:
    return [
        sql.value(alias, Order, "payment_pending", True),
        sql.value(alias, Order, "expires_at", now),
    ]


def count_live_tickets(*, event_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Return {event id: live tickets} in one query.

    Each order holds its number of tickets (``Order.ticket_count``, written
    with them by orders.lifecycle), so the count reads the event's live
    orders alone, from the partial index that covers it, with no join.
    """
    ids = list(event_ids)
    if not ids:
        return {}
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(_count_sql(alias, len(ids)), ids + _live_params(alias, now))
        return {event_id: int(n) for event_id, n in cursor.fetchall()}


@cache
def _count_by_type_sql(alias: str, n_events: int, n_types: int | None) -> str:
    event = sql.column(Order, "event", "o")
    ticket_type = sql.column(Ticket, "ticket_type", "t")
    types = (
        f" AND {ticket_type} IN ({sql.placeholders(n_types)})"
        if n_types is not None
        else ""
    )
    return (
        f"SELECT {event}, {ticket_type}, COUNT(*)"  # noqa: S608
        f" FROM {sql.table(Order, 'o')}"
        f" JOIN {sql.table(Ticket, 't')}"
        f" ON {sql.column(Ticket, 'order', 't')}"
        f" = {sql.column(Order, 'pk', 'o')}"
        f" WHERE {event} IN ({sql.placeholders(n_events)})"
        f" AND {_live_condition(alias, 'o')}"
        f" AND {sql.column(Ticket, 'cancelled_at', 't')} IS NULL"
        f"{types}"
        f" GROUP BY {event}, {ticket_type}"
    )


def count_live_tickets_by_type(
    *, event_ids: Iterable[int], now: datetime, ticket_type_ids: Iterable[int] | None
) -> dict[tuple[int, int], int]:
    """Return {(event id, ticket type id): live tickets} in one query: the
    tickets (not cancelled) of the events' live orders, by type."""
    ids = list(event_ids)
    types = None if ticket_type_ids is None else list(ticket_type_ids)
    if not ids or types == []:
        return {}
    alias = connection.alias
    statement = _count_by_type_sql(
        alias, len(ids), None if types is None else len(types)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, ids + _live_params(alias, now) + (types or []))
        return {(e, t): int(n) for e, t, n in cursor.fetchall()}


@cache
def _event_orders_sql(alias: str) -> str:
    status, pending, expires, tickets, event = (
        sql.column(Order, name, "o")
        for name in ("status", "payment_pending", "expires_at", "ticket_count", "event")
    )
    lapsed = (
        f"{status} = '{OrderStatus.RESERVED}' AND {pending} = %s AND {expires} <= %s"
    )
    return (
        "SELECT COALESCE(SUM(CASE WHEN"  # noqa: S608
        f" {status} = '{OrderStatus.PAID}' OR {pending} = %s"
        f" OR {expires} > %s THEN {tickets} ELSE 0 END), 0),"
        f" COUNT(CASE WHEN {lapsed} THEN 1 END)"
        f" FROM {sql.table(Order, 'o')}"
        f" WHERE {event} = %s AND {seat_holding_condition(alias, 'o')}"
    )


@cache
def seats_left_sql(alias: str) -> str:
    """SQL, a scalar subquery: the seats left of an event whose sales have
    not stopped (its seats less its live tickets, as ``check_capacity``
    counts them; below zero when an organiser issued beyond them), NULL for
    an event whose sales have stopped or that does not exist.

    No lock: a refusal it answers holds for its statement's snapshot, as a
    count under the seat lock holds for that lock's moment. PostgreSQL's
    reservation through the counter runs it only when the counter refused
    (``orders.lifecycle._reserve_by_counter``). Parameters:
    ``seats_left_params``."""
    event_pk = sql.column(ChapterEvent, "pk", "sl_e")
    live = (
        f"SELECT SUM({sql.column(Order, 'ticket_count', 'sl_o')})"  # noqa: S608
        f" FROM {sql.table(Order, 'sl_o')}"
        f" WHERE {sql.column(Order, 'event', 'sl_o')} = {event_pk}"
        f" AND {_live_condition(alias, 'sl_o')}"
    )
    return (
        f"(SELECT {sql.column(ChapterEvent, 'seats', 'sl_e')}"  # noqa: S608
        f" - COALESCE(({live}), 0)"
        f" FROM {sql.table(ChapterEvent, 'sl_e')}"
        f" WHERE {event_pk} = %s"
        f" AND {sql.column(ChapterEvent, 'sales_stop_at', 'sl_e')} > %s)"
    )


def seats_left_params(alias: str, *, event_id: int, now: datetime) -> list:
    return [
        *_live_params(alias, now),
        event_id,
        sql.value(alias, ChapterEvent, "sales_stop_at", now),
    ]


def _event_orders_params(alias: str, *, event_id: int, now: datetime) -> list:
    return [
        *_live_params(alias, now),
        sql.value(alias, Order, "payment_pending", False),
        sql.value(alias, Order, "expires_at", now),
        event_id,
    ]


def count_event_orders(*, event_id: int, now: datetime) -> tuple[int, int]:
    """Return (live tickets, lapsed holds not yet recorded as expired) of one
    event, in one read of the partial index: under the seat lock, the sweep
    then runs only when there is something to sweep."""
    alias = connection.alias
    params = _event_orders_params(alias, event_id=event_id, now=now)
    with connection.cursor() as cursor:
        cursor.execute(_event_orders_sql(alias), params)
        live, lapsed = cursor.fetchone()
    return int(live), int(lapsed)


def check_capacity(
    *,
    event: ChapterEvent,
    wanted: Mapping[int, int],
    now: datetime,
    limits: Mapping[int, int | None] | None = None,
    live: int | None = None,
) -> int:
    """The one capacity check: raise ``OutOfTickets`` unless ``wanted``
    ({ticket type id: count}) fits in what the event and each limited type
    have left; return the event's seats left before it.

    Call it inside the transaction holding the event's seat lock
    (``seatlock.lock_event``), and write the tickets in that same
    transaction: a count taken earlier may be stale by insert time.
    ``limits`` ({type id: limit or None}) spares the read of the event's
    offers when the caller has them, ``live`` the count of the event's live
    tickets when the caller has just taken it under the lock. The
    ``tickets_left`` of the error is what is left of the event, or of the
    limited type that does not fit.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("check_capacity() must run under the seat lock")
    if live is None:
        live = count_live_tickets(event_ids=[event.pk], now=now).get(event.pk, 0)
    left = max(0, event.seats - live)
    if limits is None:
        limits = dict(
            TicketOffer.objects.filter(
                event=event, ticket_type_id__in=list(wanted), limit__isnull=False
            ).values_list("ticket_type_id", "limit")
        )
    limited = [t for t in wanted if limits.get(t) is not None]
    if limited:
        live_by_type = count_live_tickets_by_type(
            event_ids=[event.pk], ticket_type_ids=limited, now=now
        )
        for type_id in limited:
            type_left = max(
                0,
                min(limits[type_id] - live_by_type.get((event.pk, type_id), 0), left),
            )
            if wanted[type_id] > type_left:
                raise OutOfTickets(type_left)
    if sum(wanted.values()) > left:
        raise OutOfTickets(left)
    # The seats are counted and fit: the counter (set unknown by the seat
    # lock) is exact again, with the tickets about to be written.
    set_counter_exact(event_id=event.pk, held=live + sum(wanted.values()))
    return left
