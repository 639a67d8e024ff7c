"""The order's state machine: every change of an order's state, in one place.

An order's ``status`` is the contract's (what ``session_payment_status``
shows). Beside it, ``payment_pending`` says a Swish payment is in progress
and ``refund_state`` follows money on its way back. No other module writes
an order's status, ticket count, totals, payment fields or tickets: they call
the transitions below, inside a durable transaction, with the order locked
(``lock_order``) and, for every transition that takes seats, the event's
seat lock (``seatlock.lock_event``; on PostgreSQL a new buyer's
reservation tries the event's seat counter first, see ``reserve``). A test
(tests/orders/test_lifecycle_owner.py) fails if any other module does.

Payments call these in the same transaction in which they schedule the
ticket e-mail; this module never imports payments or delivery.

The table is ``TRANSITIONS`` below: each transition, the states it may
start from, the state it ends in, and what it does to seats, money and
tickets (``describe_transitions()`` renders it as the table in docs/orders.md).

A transition not allowed from the order's current state raises
``TransitionNotAllowed``, and the caller's transaction writes nothing.
"""

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ticketshop.db import sql
from ticketshop.db.locks import busy_on_lock_timeout
from ticketshop.events.errors import EventDoesNotExist
from ticketshop.events.models import ChapterEvent
from ticketshop.statemachine import machine
from ticketshop.statemachine.machine import Machine, Transition

from . import statements
from .errors import OutOfTickets, RenewalLimitReached
from .models import Order, OrderStatus, PaymentMethod, RefundState, Ticket
from .seatlock import lock_event, take_seats
from .seats import (
    check_capacity,
    count_event_orders,
    holds_seats,
    is_lapsed,
    seats_left_params,
)
from .signals import (
    door_payment_collected,
    order_exchanged,
    order_paid,
    order_sale_reversed,
    seats_came_back,
)

logger = logging.getLogger(__name__)

RESERVED = OrderStatus.RESERVED
PAID = OrderStatus.PAID
FAILED = OrderStatus.FAILED_EXPIRED_RESERVATION
CANCELLED = OrderStatus.FAILED_ADMIN


ANY = (RESERVED, PAID, FAILED, CANCELLED)


def _row(name, sources, target, *, seats: str, money: str, tickets: str) -> Transition:
    """A row of the order's table: a few words for each of its columns."""
    notes = {"seats": seats, "money": money, "tickets": tickets}
    return Transition(name, sources, target, notes=notes)


# fmt: off
_TABLE = [
    _row(
        "reserve", (None,), RESERVED,
        seats="taken if they fit (capacity check under the event's seat lock;"
        " the event's seat counter first, for types without limits)",
        money="none yet",
        tickets="issued, with new ids",
    ),
    _row(
        "release", (RESERVED,), FAILED,
        seats="freed (the session reserved again; never with a payment running)",
        money="none",
        tickets="void",
    ),
    _row(
        "expire", (RESERVED,), FAILED,
        seats="free since the hold lapsed; recorded by the sweep",
        money="none",
        tickets="void",
    ),
    _row(
        "renew", (RESERVED, FAILED), RESERVED,
        seats="taken again if they fit (a lapsed or expired hold)",
        money="none",
        tickets="the same ids",
    ),
    _row(
        "start_payment", (RESERVED,), None,
        seats="held until Swish settles, even past the expiry",
        money="a Swish request is open; the e-mail address is fixed",
        tickets="-",
    ),
    _row(
        "new_token", ANY, None,
        seats="-",
        money="-",
        tickets="the same ids; the buyer's session names the order by a new"
        " secret (its payment started, or it was free)",
    ),
    _row(
        "end_payment", ANY, None,
        seats="a hold: until its expiry again",
        money="the request ended unpaid, or never existed",
        tickets="-",
    ),
    _row(
        "pay", (RESERVED,), PAID,
        seats="kept (only while still held)",
        money="received (Swish; or by hand after an unknown outcome)",
        tickets="valid at the door; e-mailed in the same transaction",
    ),
    _row(
        "pay_late", (RESERVED, FAILED), PAID,
        seats="taken again if they still fit (the event's seat lock) and the"
        " event has not begun",
        money="received after the shop had given the order up (lapsed,"
        " failed or released); else it waits for the refund",
        tickets="the same ids, valid at the door; e-mailed in the same"
        " transaction",
    ),
    _row(
        "confirm_free", (RESERVED,), PAID,
        seats="kept (only while still held)",
        money="none: the total is 0 kr, no Swish",
        tickets="valid at the door; e-mailed",
    ),
    _row(
        "fail", (RESERVED,), FAILED,
        seats="freed",
        money="none (declined, cancelled, error; or released by hand)",
        tickets="void",
    ),
    _row(
        "cancel", (RESERVED,), CANCELLED,
        seats="freed",
        money="none (not paid; never with a payment running)",
        tickets="void",
    ),
    _row(
        "cancel_paid", (PAID,), CANCELLED,
        seats="freed",
        money="refund pending (Swish) or none (free, complimentary, cash, invoice)",
        tickets="void",
    ),
    _row(
        "cancel_tickets", (PAID,), None,
        seats="those tickets' seats freed",
        money="their price: refund pending (Swish) or none",
        tickets="those void, the rest valid; all of them: cancel_paid",
    ),
    _row(
        "issue", (None,), PAID,
        seats="taken if they fit, or beyond capacity by an explicit, logged choice",
        money="none (complimentary) or recorded (cash, invoice)",
        tickets="issued, with new ids; e-mailed",
    ),
    _row(
        "exchange", (PAID,), None,
        seats="the old tickets' seats freed; the new ones taken if they fit"
        " in the target event (its seat lock)",
        money="the price difference: due at the door (dearer), or a credit"
        " receipt and, for Swish, refund pending (cheaper)",
        tickets="the old ids void; new ids in the target event, e-mailed",
    ),
    _row(
        "collect_at_door", (PAID,), None,
        seats="-",
        money="what was due at the door, collected (cash or Swish at the door):"
        " the amount due shrinks by it, never below 0; the whole difference of"
        " an exchange gets its receipt",
        tickets="-",
    ),
    _row(
        "refund_pending", ANY, None,
        seats="-", money="refund pending", tickets="-",
    ),
    _row(
        "refund_settled", ANY, None,
        seats="-", money="refunded (Swish paid it back)", tickets="-",
    ),
    _row(
        "refund_failed", ANY, None,
        seats="-", money="refund failed: visible, can be retried", tickets="-",
    ),
    _row(
        "flag", ANY, None,
        seats="-", money="-", tickets="-",
    ),
    _row(
        "clear_flag", ANY, None,
        seats="-", money="-", tickets="-",
    ),
]
# fmt: on


def _state_in_words(order: Order) -> str:
    """The order's state as a refusal names it: its status, and whether a
    payment is running (callers and tests read "payment running")."""
    return f"{order.status}, payment running" if order.payment_pending else order.status


ORDER = Machine(
    "order",
    _TABLE,
    states=ANY,
    columns=("seats", "money", "tickets"),
    label=lambda order: order.reference,
    describe_state=_state_in_words,
)
TRANSITIONS = ORDER.transitions

# Raised by every refused transition of an order (the core's class, so one
# ``except`` catches the order's refusals and any other machine's).
TransitionNotAllowed = machine.TransitionNotAllowed


def describe_transitions() -> str:
    """Return ``TRANSITIONS`` as a Markdown table (docs/orders.md shows it)."""
    return ORDER.describe()


# Upper-case letters and digits without look-alikes (no 0 O 1 I).
EXTERNAL_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXTERNAL_ID_LENGTH = 6
REFERENCE_LENGTH = 10


def random_code(length: int) -> str:
    """Return a code drawn from a cryptographically secure generator."""
    return "".join(secrets.choice(EXTERNAL_ID_ALPHABET) for _ in range(length))


def new_order_token() -> str:
    """Return a new secret for a buyer's session to name an order by."""
    return secrets.token_urlsafe(32)


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("order transitions must run inside a transaction")


def _check(name: str, order: Order, allowed: bool = True, why: str = "") -> None:
    ORDER.check(name, order, allowed, why)


def _refuse(name: str, order: Order, why: str) -> TransitionNotAllowed:
    return ORDER.not_allowed(name, order, why)


def _save(order: Order, name: str, fields: Iterable[str]) -> None:
    """Set the transition's target, save ``fields`` and write the order's
    history row (``StateChange``), all in the caller's transaction."""
    ORDER.save(order, name, fields)


def _seats_freed(event_id: int) -> None:
    """After the caller's transaction commits, tell whoever listens (the
    waiting list) that seats of the event came back. Nothing is sent if it
    rolls back; a listener lost with its process is made good by the
    waiting list's periodic pass."""
    transaction.on_commit(lambda: seats_came_back.send(sender=Order, event_id=event_id))


def lock_order(order_id: int) -> Order:
    """Lock and return the order with its event, for the transaction.

    PostgreSQL: ``SELECT … FOR UPDATE`` of the order row; SQLite's durable
    transactions hold the database's write lock from ``BEGIN IMMEDIATE``.
    Lock order, where both are needed: the event first, then the order.
    """
    _require_transaction()
    queryset = Order.objects.select_related("event")
    if connection.vendor == "postgresql":
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    return queryset.get(pk=order_id)


# --- Seats: creating orders and taking seats again ------------------------------


# Above this many holds recorded as expired at once, PostgreSQL's statistics
# of the order table are refreshed in the same transaction: until autovacuum
# notices, they would still count those orders as reserved, and the planner
# would scan the whole table instead of the partial index (bench/README.md).
_ANALYZE_AFTER_SWEEPING = 500


def expire_lapsed(*, event_id: int, now: datetime) -> int:
    """``expire`` for every lapsed hold of the event (under its seat lock).

    Their seats are free already (the lapse rule); recording it takes them
    out of the partial index of live orders, so the count that follows reads
    only what can still hold a seat, however many holds the event has seen.
    One statement built once per process, which reads that same partial
    index (``seats.seat_holding_condition``).
    """
    _require_transaction()
    alias = connection.alias
    expired = TRANSITIONS["expire"].target
    params = statements.expire_params(
        alias, event_id=event_id, now=now, expired=expired, reserved=RESERVED
    )
    with connection.cursor() as cursor:
        cursor.execute(statements.expire_sql(alias), params)
        swept = [pk for (pk,) in cursor.fetchall()]
    if not swept:
        return 0
    # One history row per expired order, in this same transaction.
    # by the sweep, whoever's reservation or issue ran it.
    with machine.acting_as("sweep"):
        ORDER.record_many(((pk, RESERVED, expired) for pk in swept), "expire")
    _seats_freed(event_id)
    if len(swept) >= _ANALYZE_AFTER_SWEEPING and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statements.analyze_orders_sql(alias))
    logger.info("event %s: %d lapsed holds recorded as expired", event_id, len(swept))
    return len(swept)


@dataclass(frozen=True)
class NewTicket:
    ticket_type_id: int
    price: Decimal


def _new_tickets(
    counts: Mapping[int, int], prices: Mapping[int, Decimal]
) -> list[NewTicket]:
    """The tickets of a new order, by type id, each at its type's price."""
    return [
        NewTicket(type_id, prices[type_id])
        for type_id in sorted(counts)
        for _ in range(counts[type_id])
    ]


def reserve(
    *,
    event_id: int,
    counts: Mapping[int, int],
    prices: Mapping[int, Decimal],
    limits: Mapping[int, int | None],
    now: datetime,
    release_order_id: int | None = None,
    language: str = "",
    try_counter: bool = True,
    hold_until: datetime | None = None,
) -> Order:
    """``reserve``: lock the event, ``release`` the session's earlier hold
    (``release_order_id``), sweep the event's lapsed holds, check capacity
    and insert the order with its tickets (the caller's durable
    transaction).

    On PostgreSQL, a new buyer asking for types without a limit of their
    own (the rush) first tries the event's seat counter instead of the
    seat lock (``_reserve_by_counter``): one prepared statement that adds
    the tickets to the counter if they fit under it and inserts the order
    and its tickets, or refuses (``OutOfTickets``) when the seats it then
    counts are too few. Only what it neither reserves nor refuses (the
    counter full or unknown but seats left, sales stopped) takes the seat
    lock below, which counts exactly.
    ``try_counter=False``: the caller has just tried it
    (``reserve_by_counter``). ``hold_until``: the hold lasts until then
    instead of the event's reservation time (a waiting list's offer; never
    through the counter)."""
    if (
        try_counter
        and hold_until is None
        and release_order_id is None
        and may_reserve_by_counter(counts=counts, limits=limits)
    ):
        order = _reserve_by_counter(
            event_id=event_id, counts=counts, prices=prices, now=now, language=language
        )
        if order is not None:
            return order
    if connection.vendor == "sqlite" and _unlimited(counts=counts, limits=limits):
        # SQLite holds the database's write lock already (BEGIN IMMEDIATE):
        # the counter's path is two short statements in this transaction.
        if release_order_id is not None:
            release(lock_order(release_order_id), now=now)
            release_order_id = None
        event = take_seats(event_id=event_id, tickets=sum(counts.values()), now=now)
        if event is not None:
            return _insert_order(
                event=event,
                tickets=_new_tickets(counts, prices),
                transition="reserve",
                expires_at=hold_until or now + event.reservation_duration,
                language=language,
            )
    event = lock_event(event_id=event_id)
    # Re-read under the lock: sales may have stopped since the first check.
    if event.sales_stop_at <= now:
        raise EventDoesNotExist()
    if release_order_id is not None:
        # Never a paid order, nor one whose payment is still in progress.
        release(lock_order(release_order_id), now=now)
    # Lapsed holds hold no seats, so the count is the same before the sweep;
    # the same read says whether there is anything to sweep.
    live, lapsed = count_event_orders(event_id=event.pk, now=now)
    if lapsed:
        expire_lapsed(event_id=event.pk, now=now)
    check_capacity(event=event, wanted=counts, now=now, limits=limits, live=live)
    tickets = _new_tickets(counts, prices)
    return _insert_order(
        event=event,
        tickets=tickets,
        transition="reserve",
        expires_at=hold_until or now + event.reservation_duration,
        language=language,
    )


def issue(
    *,
    event_id: int,
    counts: Mapping[int, int],
    prices: Mapping[int, Decimal],
    name: str,
    email: str,
    method: str,
    allow_over_capacity: bool = False,
    now: datetime | None = None,
) -> Order:
    """``issue``: an organiser's order (complimentary, cash, invoice), paid at
    once. Counts against the seats; going beyond them needs
    ``allow_over_capacity``, which is logged. The caller schedules the e-mail
    in the same transaction."""
    now = now or timezone.now()
    _require_transaction()
    if method == PaymentMethod.SWISH:
        raise ValueError("Swish orders are reserved and paid, not issued")
    event = lock_event(event_id=event_id)
    expire_lapsed(event_id=event.pk, now=now)
    try:
        check_capacity(event=event, wanted=counts, now=now)
    except OutOfTickets as exc:
        if not allow_over_capacity:
            raise
        logger.warning(
            "issuing %d tickets for event %s beyond capacity (%d left)",
            sum(counts.values()),
            event.pk,
            exc.tickets_left,
        )
    tickets = _new_tickets(counts, prices)
    order = _insert_order(
        event=event,
        tickets=tickets,
        transition="issue",
        expires_at=now,
        name=name,
        email=email,
        payment_method=method,
        paid_at=now,
    )
    logger.info("order %s: issued (%s)", order.reference, method)
    _paid(order, now=now)
    return order


def _paid(order: Order, *, now: datetime) -> None:
    """The order became PAID in the caller's transaction: its receipt is
    issued now (``signals.order_paid``; the one place for every way in)."""
    order_paid.send(sender=Order, order=order, now=now)


def needs_renewal(order: Order, *, now: datetime) -> bool:
    """Whether the order's hold must be taken again before it can be paid:
    it lapsed (the lapse rule), or was recorded as expired or failed."""
    return order.status == FAILED or is_lapsed(order, now=now)


def renewal_deadline(order: Order) -> datetime:
    """The latest time a hold of this order may reach by renewals."""
    return order.created_at + timedelta(minutes=settings.HOLD_RENEWAL_MINUTES)


def renew(order: Order, *, now: datetime) -> None:
    """``renew``: hold a lapsed (or expired) reservation's seats again if they
    are still free. Raises ``OutOfTickets`` or ``EventDoesNotExist`` (sales
    stopped), or ``RenewalLimitReached`` once the order was renewed
    ``HOLD_RENEWAL_LIMIT`` times or its first reservation is
    ``HOLD_RENEWAL_MINUTES`` old (else a buyer whose Swish requests keep
    ending could hold the seats for ever); takes the event's seat lock (call
    before ``lock_order``)."""
    _check("renew", order, needs_renewal(order, now=now), ": it holds its seats")
    deadline = renewal_deadline(order)
    if order.hold_renewals >= settings.HOLD_RENEWAL_LIMIT or now >= deadline:
        raise RenewalLimitReached()
    event = lock_event(event_id=order.event_id)
    if event.sales_stop_at <= now:
        raise EventDoesNotExist()
    wanted: dict[int, int] = {}
    for type_id in order.tickets.filter(cancelled_at__isnull=True).values_list(
        "ticket_type_id", flat=True
    ):
        wanted[type_id] = wanted.get(type_id, 0) + 1
    # The lapsed order's own tickets are not live, so they are not counted.
    check_capacity(event=event, wanted=wanted, now=now)
    # Never past the deadline: renewals bound the whole time seats are held.
    order.expires_at = min(now + event.reservation_duration, deadline)
    # Counted in the row, read and written under the order's lock.
    order.hold_renewals += 1
    _save(order, "renew", ["expires_at", "hold_renewals"])


def _insert_order(
    *,
    event: ChapterEvent,
    tickets: list[NewTicket],
    transition: str,
    expires_at: datetime,
    **fields,
) -> Order:
    """Insert the order and its tickets with SQL built once per process (the
    ORM's ``create`` and ``bulk_create`` spent more CPU building the statements
    than the database spent running them, under the lock): one statement on
    PostgreSQL, three on SQLite (order, tickets, history row), which has no
    INSERT in WITH. Sends no ``post_save`` for the order or its tickets; the
    caller notes the write for the listing cache.
    """
    alias = connection.alias
    order, rows = _new_order(
        event_id=event.pk,
        tickets=tickets,
        status=TRANSITIONS[transition].target,
        expires_at=expires_at,
        **fields,
    )
    order.event = event
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, one round trip less under the lock; it writes
            # the order's history row too.
            cursor.execute(
                statements.insert_order_and_tickets_sql(alias, len(rows)),
                [
                    *sql.insert_params(alias, [order]),
                    *_history_params(alias, transition),
                    *statements.ticket_params(rows),
                ],
            )
            sql.mark_saved(alias, order, cursor.fetchone()[0])
            _created(order, transition)
            return order
        cursor.execute(
            sql.insert_rows_sql(alias, Order, 1), sql.insert_params(alias, [order])
        )
        sql.mark_saved(alias, order, cursor.fetchone()[0])
        for ticket in rows:
            ticket.order = order
        cursor.execute(
            sql.insert_rows_sql(alias, Ticket, len(rows)),
            sql.insert_params(alias, rows),
        )
        for ticket, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            sql.mark_saved(alias, ticket, pk)
    # The order's history row (``Machine.record``: a statement written once
    # per process, not the ORM's create, which cost more CPU under the lock).
    ORDER.record(order.pk, transition, "", order.status)
    _created(order, transition)
    return order


def _history_params(alias: str, transition: str) -> list:
    """The values of the history row of an order inserted by ``transition``,
    for ``statements.history_of_new_order_sql`` (the statement inserting
    the order fills in its id)."""
    return statements.history_params(
        alias,
        machine=ORDER.name,
        transition=transition,
        to_state=TRANSITIONS[transition].target,
    )


def _created(order: Order, transition: str) -> None:
    """The order was inserted, with its history row, by one statement."""
    logger.info("order %s: %s -> %s", order.reference, transition, order.status)


def _new_order(
    *,
    event_id: int,
    tickets: list[NewTicket],
    status: str,
    expires_at: datetime,
    **fields,
) -> tuple[Order, list[Ticket]]:
    """Build the order and its tickets (codes drawn), not yet written."""
    created = timezone.now()
    order = Order(
        token=new_order_token(),
        reference=random_code(REFERENCE_LENGTH),
        event_id=event_id,
        status=status,
        total_price=sum((t.price for t in tickets), Decimal("0")),
        expires_at=expires_at,
        ticket_count=len(tickets),
        created_at=created,
        updated_at=created,
        **fields,
    )
    rows = [
        Ticket(
            event_id=event_id,
            ticket_type_id=t.ticket_type_id,
            price=t.price,
            external_id=random_code(EXTERNAL_ID_LENGTH),
        )
        for t in tickets
    ]
    return order, rows


def may_reserve_by_counter(
    *, counts: Mapping[int, int], limits: Mapping[int, int | None]
) -> bool:
    """Whether a new buyer's reservation may go through the event's seat
    counter: PostgreSQL, and only types without a limit of their own."""
    return connection.vendor == "postgresql" and _unlimited(
        counts=counts, limits=limits
    )


def _unlimited(*, counts: Mapping[int, int], limits: Mapping[int, int | None]) -> bool:
    """Tickets asked for, all of types without a limit of their own: the
    event's seats are the only bound, which the seat counter keeps."""
    return sum(counts.values()) > 0 and all(limits.get(t) is None for t in counts)


def reserve_by_counter(
    *,
    event_id: int,
    counts: Mapping[int, int],
    prices: Mapping[int, Decimal],
    now: datetime,
    language: str = "",
) -> Order | None:
    """``reserve`` through the event's seat counter (``_reserve_by_counter``)
    as a transaction of its own: its one statement, which PostgreSQL runs
    and commits by itself (autocommit), so no BEGIN and no COMMIT cross the
    network. Call it outside any transaction, for a new buyer asking for
    types without limits of their own (``may_reserve_by_counter``).
    ``OutOfTickets`` when the seats left are too few; None when they may
    fit but the counter refused: nothing was written either way, and on
    None ``reserve`` (with ``try_counter=False``) takes the seat lock."""
    if connection.in_atomic_block or not connection.get_autocommit():
        raise RuntimeError("reserve_by_counter() is a transaction of its own")
    return _reserve_by_counter(
        event_id=event_id, counts=counts, prices=prices, now=now, language=language
    )


def _reserve_by_counter(
    *,
    event_id: int,
    counts: Mapping[int, int],
    prices: Mapping[int, Decimal],
    now: datetime,
    language: str,
) -> Order | None:
    """PostgreSQL's ``reserve`` without the seat lock, for types without
    limits of their own; None when it does not fit under the counter, and
    ``OutOfTickets`` when the event's seats are taken.

    Everything is prepared first (the order, its codes, the parameters);
    then one prepared statement (``statements.reserve_by_counter_sql``) adds the
    tickets to the event's ``SeatCounter`` only where the counter is known
    and they still fit under the seats, and sales have not stopped, and
    inserts the order and its tickets from that row. The counter's row
    lock is held from that update to the commit: the statement's own work
    and the commit. A reservation that waited for the lock sees the
    counter its holder committed (PostgreSQL checks an UPDATE's conditions
    again on the newest row). The counter is never below the live tickets
    (``models.SeatCounter``), so what it lets through fits. What it refuses
    may still fit (seats freed since): the same statement then counts the
    seats left, without any lock (``seats.seats_left_sql``), and refuses
    if they are too few. So a sold-out event refuses in one statement,
    never queueing for the seat lock; only a count that finds room (lapsed
    or cancelled seats) goes the seat lock's way, which counts again.
    """
    alias = connection.alias
    tickets = _new_tickets(counts, prices)
    # expires_at is the statement's: now plus the event's hold time.
    order, rows = _new_order(
        event_id=event_id,
        tickets=tickets,
        status=TRANSITIONS["reserve"].target,
        expires_at=now,
        language=language,
    )
    timeout_ms = int(settings.SEAT_LOCK_TIMEOUT_SECONDS * 1000)
    params = [
        len(rows),
        event_id,
        sql.value(alias, ChapterEvent, "sales_stop_at", now),
        len(rows),
        f"{timeout_ms}ms",
        *sql.insert_params(alias, [order]),
        *_history_params(alias, "reserve"),
        *statements.ticket_params(rows),
        "on" if settings.RESERVATION_SYNCHRONOUS_COMMIT else "off",
        *seats_left_params(alias, event_id=event_id, now=now),
    ]
    with busy_on_lock_timeout(), sql.prepared_cursor(alias) as cursor:
        cursor.execute(statements.reserve_by_counter_sql(alias, len(rows)), params)
        order_pk, minutes, _synchronous_commit, left = cursor.fetchone()
    if order_pk is None:
        if left is not None and len(rows) > left:
            raise OutOfTickets(max(0, left))
        return None
    order.expires_at = now + timedelta(minutes=minutes)
    sql.mark_saved(alias, order, order_pk)
    _created(order, "reserve")
    return order


# --- Holds and payments -----------------------------------------------------------


def release(order: Order, *, now: datetime) -> bool:
    """``release`` the session's earlier unpaid hold before a new reservation.

    Never a paid order, nor one whose payment is still running: returns
    False and changes nothing for those.
    """
    _require_transaction()
    if order.status != RESERVED or order.payment_pending:
        return False
    _save(order, "release", [])
    _seats_freed(order.event_id)
    return True


def start_payment(order: Order, *, email: str, now: datetime) -> None:
    """``start_payment``: a Swish request is about to be created; the seats
    stay held until Swish settles it. The e-mail address is fixed from here."""
    _check(
        "start_payment",
        order,
        not order.payment_pending and holds_seats(order, now=now),
        ": a payment is running or the hold lapsed",
    )
    order.email = email
    order.payment_pending = True
    order.payment_started_at = now
    _save(order, "start_payment", ["email", "payment_pending", "payment_started_at"])


def new_token(order: Order, *, seen: str) -> None:
    """``new_token``: the buyer has started paying; the session that did it
    names the order by a new secret from now on, so that a copy of its cookie
    from before (one an attacker reserved with and planted in the buyer's
    browser: session fixation) no longer reaches the order being paid.

    ``seen`` is the token the caller's session held: if the order has moved
    on from it (a concurrent start of the same session renewed it first),
    that newer token stands, so both answers carry the same one."""
    _check("new_token", order)
    if order.token != seen:
        return
    order.token = new_order_token()
    _save(order, "new_token", ["token"])


def end_payment(order: Order) -> None:
    """``end_payment``: the running request ended unpaid or never existed,
    but the hold stays (until its expiry) so that the buyer may try again."""
    _check("end_payment", order, order.payment_pending, ": no payment running")
    order.payment_pending = False
    _save(order, "end_payment", ["payment_pending"])


def can_pay(order: Order, *, now: datetime) -> bool:
    """Only an order whose seats are still held may become paid: a lapsed
    hold's seats may be sold already (no overselling, even here)."""
    return order.status == RESERVED and holds_seats(order, now=now)


def pay(
    order: Order,
    *,
    reference: str,
    paid_at: datetime,
    now: datetime,
    method: str = PaymentMethod.SWISH,
) -> None:
    """``pay``: the money arrived (Swish says PAID, or an organiser checked
    with the bank). The caller schedules the ticket e-mail in this same
    transaction."""
    _check("pay", order, can_pay(order, now=now), ": its seats are not held")
    order.paid_at = paid_at
    order.payment_reference = reference
    order.payment_pending = False
    order.payment_method = method
    _save(
        order,
        "pay",
        ["paid_at", "payment_reference", "payment_pending", "payment_method"],
    )
    _paid(order, now=now)


def may_pay_late(order: Order, *, now: datetime) -> bool:
    """Whether money that arrived after the shop gave the order up may still
    complete it: a lapsed or failed hold (never one an organiser cancelled),
    no payment running, and the event not begun. Its seats are counted by
    ``pay_late`` under the event's seat lock."""
    return (
        not order.payment_pending
        and (order.status == FAILED or is_lapsed(order, now=now))
        and order.event.event_at > now
    )


def pay_late(
    order: Order,
    *,
    reference: str,
    paid_at: datetime,
    now: datetime,
) -> None:
    """``pay_late``: Swish took the money after the shop had given the order
    up; take its seats again if they still fit and make it paid. The caller
    holds the event's seat lock (``lock_event`` before ``lock_order``) and
    schedules the ticket e-mail in this transaction. Raises ``OutOfTickets``
    (nothing written) when the seats are gone."""
    _check("pay_late", order, may_pay_late(order, now=now), ": it cannot be revived")
    wanted: dict[int, int] = {}
    for type_id in order.tickets.filter(cancelled_at__isnull=True).values_list(
        "ticket_type_id", flat=True
    ):
        wanted[type_id] = wanted.get(type_id, 0) + 1
    # The order's own tickets are not live (failed or lapsed): not counted.
    check_capacity(event=order.event, wanted=wanted, now=now)
    order.paid_at = paid_at
    order.payment_reference = reference
    order.payment_method = PaymentMethod.SWISH
    _save(order, "pay_late", ["paid_at", "payment_reference", "payment_method"])


def confirm_free(order: Order, *, email: str, now: datetime) -> None:
    """``confirm_free``: an order of 0 kr needs no Swish; paid at once."""
    _check(
        "confirm_free",
        order,
        order.total_price == 0 and can_pay(order, now=now),
        ": not free, or its seats are not held",
    )
    order.email = email
    order.paid_at = now
    order.payment_method = PaymentMethod.FREE
    order.payment_pending = False
    _save(order, "confirm_free", ["email", "paid_at", "payment_method"])
    _paid(order, now=now)


def fail(order: Order) -> None:
    """``fail``: the running payment was declined, cancelled or ended in error
    (or an organiser released an unknown outcome): the seats are freed."""
    _check("fail", order, order.payment_pending, ": no payment running")
    order.payment_pending = False
    _save(order, "fail", ["payment_pending"])
    _seats_freed(order.event_id)


# --- Organiser: cancel and refund -------------------------------------------------


def refund_expected(order: Order) -> bool:
    """Whether cancelling the order pays money back (through Swish)."""
    return order.payment_method == PaymentMethod.SWISH and order.total_price > 0


def cancel(order: Order, *, now: datetime) -> None:
    """``cancel`` an unpaid order, or ``cancel_paid`` a paid one: its seats
    are freed and its tickets stop opening the door. A Swish-paid order's
    refund is then pending: the caller creates it in this transaction."""
    if order.status == PAID:
        _check("cancel_paid", order)
        live = order.tickets.filter(cancelled_at__isnull=True).values_list(
            "pk", flat=True
        )
        order_sale_reversed.send(
            sender=Order, order=order, ticket_ids=list(live), now=now
        )
        fields = []
        if refund_expected(order):
            order.refund_state = RefundState.PENDING
            fields.append("refund_state")
        _save(order, "cancel_paid", fields)
        _seats_freed(order.event_id)
        return
    _check("cancel", order, not order.payment_pending, ": a payment is running")
    _save(order, "cancel", [])
    _seats_freed(order.event_id)


def cancel_tickets(
    order: Order, *, ticket_ids: Iterable[int], now: datetime
) -> Decimal:
    """``cancel_tickets``: cancel some tickets of a paid order; return what
    they cost. Their seats are freed and they stop opening the door; the
    order's count and total shrink by them. Cancelling every ticket left
    cancels the order (``cancel_paid``)."""
    _check("cancel_tickets", order)
    ids = set(ticket_ids)
    tickets = list(
        order.tickets.filter(pk__in=ids, cancelled_at__isnull=True).only("pk", "price")
    )
    if not tickets or len(tickets) != len(ids):
        raise _refuse("cancel_tickets", order, ": no such ticket left in the order")
    amount = sum((t.price for t in tickets), Decimal("0"))
    if len(tickets) == order.ticket_count:
        cancel(order, now=now)
        return amount
    refund = refund_expected(order) and amount > 0
    order_sale_reversed.send(
        sender=Order, order=order, ticket_ids=[t.pk for t in tickets], now=now
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(cancelled_at=now)
    order.ticket_count = F("ticket_count") - len(tickets)
    order.total_price = F("total_price") - amount
    fields = ["ticket_count", "total_price"]
    if refund:
        order.refund_state = RefundState.PENDING
        fields.append("refund_state")
    _save(order, "cancel_tickets", fields)
    _seats_freed(order.event_id)
    order.refresh_from_db(fields=["ticket_count", "total_price"])
    return amount


@dataclass(frozen=True)
class Exchange:
    """What ``exchange`` did: the old and new total, and their difference
    (positive: the buyer owes it; negative: it is owed back)."""

    order: Order
    old_total: Decimal
    new_total: Decimal
    from_event_id: int
    old_ticket_ids: tuple[str, ...]

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total


def exchange(
    order: Order,
    *,
    event_id: int,
    type_map: Mapping[int, int],
    prices: Mapping[int, Decimal],
    now: datetime,
) -> Exchange:
    """``exchange``: move every live ticket of a paid order to another event
    (another show night) and/or ticket type. ``type_map`` maps each old
    ticket type to its new one; ``prices`` gives each new type's price.

    Takes the seat locks of both events (in id order, so two exchanges
    crossing each other cannot deadlock), then the order. The old tickets
    are cancelled (their ids stop opening the door) before the capacity
    check, so an exchange within one event counts its own seats as free;
    raises ``OutOfTickets`` when the new tickets do not fit, and the caller's
    transaction writes nothing. A Swish-paid order owed money back gets
    ``refund_pending``; the caller creates the refund and sends the new
    tickets.
    """
    _require_transaction()
    for locked_id in sorted({order.event_id, event_id}):
        lock_event(event_id=locked_id)
    order = lock_order(order.pk)
    _check("exchange", order, not order.payment_pending, ": a payment is running")
    old = list(order.tickets.filter(cancelled_at__isnull=True).order_by("pk"))
    if not old:
        raise _refuse("exchange", order, ": no ticket left")
    missing = {t.ticket_type_id for t in old} - set(type_map)
    if missing:
        raise _refuse("exchange", order, ": a ticket type is not mapped")
    target = ChapterEvent.objects.get(pk=event_id)
    old_total = sum((t.price for t in old), Decimal("0"))
    swish_paid = refund_expected(order)
    from_event_id = order.event_id
    Ticket.objects.filter(pk__in=[t.pk for t in old]).update(cancelled_at=now)
    # The order holds no seat while the new ones are counted.
    Order.objects.filter(pk=order.pk).update(ticket_count=0)
    expire_lapsed(event_id=target.pk, now=now)
    wanted: dict[int, int] = {}
    for ticket in old:
        new_type = type_map[ticket.ticket_type_id]
        wanted[new_type] = wanted.get(new_type, 0) + 1
    check_capacity(event=target, wanted=wanted, now=now)
    new = [
        Ticket(
            order=order,
            event=target,
            ticket_type_id=type_map[t.ticket_type_id],
            price=prices[type_map[t.ticket_type_id]],
            external_id=random_code(EXTERNAL_ID_LENGTH),
        )
        for t in old
    ]
    Ticket.objects.bulk_create(new)
    new_total = sum((t.price for t in new), Decimal("0"))
    order.event = target
    order.ticket_count = len(new)
    order.total_price = new_total
    fields = ["event", "ticket_count", "total_price", "due_at_door"]
    money = exchange_money(order, old_total=old_total, new_total=new_total)
    order.due_at_door = money.due_at_door
    if money.owed_back > 0 and swish_paid:
        order.refund_state = RefundState.PENDING
        fields.append("refund_state")
    _save(order, "exchange", fields)
    order_exchanged.send(sender=Order, order=order, now=now)
    # The old event's seats came back (or, within one event, the old types').
    _seats_freed(from_event_id)
    return Exchange(
        order=order,
        old_total=old_total,
        new_total=new_total,
        from_event_id=from_event_id,
        old_ticket_ids=tuple(t.external_id for t in old),
    )


@dataclass(frozen=True)
class ExchangeMoney:
    """What an exchange does to the order's money: what it then owes at the
    door, and what is owed back to the buyer."""

    difference: Decimal
    due_at_door: Decimal
    owed_back: Decimal


def exchange_money(order: Order, *, old_total: Decimal, new_total: Decimal):
    """The money of an exchange from ``old_total`` to ``new_total`` (one rule
    for ``exchange`` and for the preview that shows it). Dearer: the
    difference is due at the door. Cheaper: what was due at the door goes
    first, the rest is owed back (Swish: refund pending)."""
    due = order.due_at_door + (new_total - old_total)
    return ExchangeMoney(
        difference=new_total - old_total,
        due_at_door=max(due, Decimal("0")),
        owed_back=max(-due, Decimal("0")),
    )


def collect_at_door(
    order: Order, *, amount: Decimal, method: str, now: datetime
) -> None:
    """``collect_at_door``: ``amount`` of what the order owed at the door was
    paid there with ``method`` (cash or Swish); the order (locked by the
    caller) owes that much less, and the books issue the difference's
    receipt in this transaction (``signals.door_payment_collected``).

    Refuses (``TransitionNotAllowed``) an amount that is not positive or is
    more than is still due: the caller checks both after locking, with its
    own errors, so these are the last guard."""
    _check(
        "collect_at_door",
        order,
        Decimal("0") < amount <= order.due_at_door,
        f": {amount} kr is not within the {order.due_at_door} kr due",
    )
    order.due_at_door = order.due_at_door - amount
    _save(order, "collect_at_door", ["due_at_door"])
    door_payment_collected.send(
        sender=Order, order=order, amount=amount, method=method, now=now
    )


def refund_pending(order: Order) -> None:
    """``refund_pending``: money of the order is on its way back."""
    _check("refund_pending", order)
    order.refund_state = RefundState.PENDING
    _save(order, "refund_pending", ["refund_state"])


def refund_settled(order: Order) -> None:
    """``refund_settled``: Swish paid every pending refund back."""
    _check("refund_settled", order)
    order.refund_state = RefundState.REFUNDED
    _save(order, "refund_settled", ["refund_state"])


def refund_failed(order: Order) -> None:
    """``refund_failed``: a refund was refused or failed; it can be retried."""
    _check("refund_failed", order)
    order.refund_state = RefundState.FAILED
    _save(order, "refund_failed", ["refund_state"])


# --- Flags for an organiser ----------------------------------------------------------


def flag(order: Order, reason: str) -> None:
    """``flag``: the order needs an organiser (once per reason)."""
    _check("flag", order)
    order.needs_attention = True
    if reason not in order.attention_reason:
        order.attention_reason = (
            f"{order.attention_reason}\n{reason}" if order.attention_reason else reason
        )
    _save(order, "flag", ["needs_attention", "attention_reason"])


def clear_flag(order: Order, note: str) -> None:
    """``clear_flag``: an organiser (or a completed refund) settled it."""
    _check("clear_flag", order)
    order.needs_attention = False
    order.attention_reason = (
        f"{order.attention_reason}\n{note}" if order.attention_reason else note
    )
    _save(order, "clear_flag", ["needs_attention", "attention_reason"])


# --- What is allowed now -------------------------------------------------------------
# For the pages that offer an organiser's action: the same guards as the
# transitions above, asked without a transaction and answered with a reason
# in the reader's language (orders/admin.py, payments/admin.py and the back
# office ask these, through backoffice.actions, and never repeat them).


@dataclass(frozen=True)
class Allowed:
    ok: bool
    why: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _may(name: str, order: Order, ok: bool = True, why: str = "") -> Allowed:
    """The order machine's ``allowed``, with its reason in the organiser's words."""
    if not ORDER.allowed(name, order):
        return Allowed(False, _("the order has ended already."))
    return Allowed(True) if ok else Allowed(False, why)


def may_cancel(order: Order) -> Allowed:
    """``cancel`` (unpaid) or ``cancel_paid``: never with a payment running."""
    if order.status == PAID:
        return _may("cancel_paid", order)
    return _may(
        "cancel",
        order,
        not order.payment_pending,
        _(
            "a Swish payment is running: wait for Swish, or settle an "
            "unknown outcome with its own action."
        ),
    )


def may_cancel_tickets(order: Order) -> Allowed:
    return _may("cancel_tickets", order)


def may_exchange(order: Order) -> Allowed:
    return _may(
        "exchange", order, not order.payment_pending, _("a payment is running.")
    )


def may_settle_unknown(order: Order) -> Allowed:
    """``pay`` or ``fail`` by hand: only an order whose payment is running."""
    if not ORDER.allowed("fail", order, order.payment_pending):
        return Allowed(False, _("no payment with an unknown outcome."))
    return Allowed(True)


def may_collect_at_door(order: Order) -> Allowed:
    return _may(
        "collect_at_door",
        order,
        order.due_at_door > 0,
        _("Nothing is due at the door for this order."),
    )
