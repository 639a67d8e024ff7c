"""Reservation rules: capacity, expiry and the states of an order."""

import functools
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, connections
from django.utils import timezone

from ticketshop.events.errors import (
    EventDoesNotExist,
    SalesNotStarted,
    TicketTypeDoesNotExist,
)
from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType
from ticketshop.events.services import lock_event, run_locked
from ticketshop.sql import (
    insert_params,
    insert_rows_sql,
    mark_saved,
    row_reader,
    select_columns,
)

from .errors import OutOfTickets, TooManyTickets
from .models import Order, OrderStatus, Ticket
from .selectors import (
    count_live_tickets,
    count_live_tickets_by_type,
    get_order_by_token,
    listing_written,
)
from .signals import pending_order_superseded

logger = logging.getLogger(__name__)

SESSION_ORDER_KEY = "order_token"
# The session outlives its reservation by this much, so that the buyer can
# still pay (a started payment may take Swish several minutes) and see the
# confirmation page afterwards.
SESSION_GRACE = timedelta(hours=1)

# Upper-case letters and digits without look-alikes (no 0 O 1 I).
EXTERNAL_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXTERNAL_ID_LENGTH = 6
REFERENCE_LENGTH = 10
_MAX_ID_ATTEMPTS = 10


@dataclass(frozen=True)
class TicketLine:
    ticket_type_id: int
    count: int


def random_code(length: int) -> str:
    """Return a code drawn from a cryptographically secure generator."""
    return "".join(secrets.choice(EXTERNAL_ID_ALPHABET) for _ in range(length))


def merge_lines(lines: Iterable[TicketLine]) -> dict[int, int]:
    """Add up the counts of a ticket type listed more than once."""
    counts: dict[int, int] = {}
    for line in lines:
        counts[line.ticket_type_id] = counts.get(line.ticket_type_id, 0) + line.count
    return counts


def reserve_tickets(
    *,
    session,
    event_id: int,
    lines: Iterable[TicketLine],
    now: datetime | None = None,
) -> Order:
    """Reserve seats for the session, all or nothing.

    Releases the session's earlier unpaid reservation first. Raises a
    ShopError (EventDoesNotExist, TicketTypeDoesNotExist, SalesNotStarted,
    TooManyTickets, OutOfTickets, Busy) and then writes nothing.
    """
    now = now or timezone.now()
    counts = merge_lines(lines)
    event, offers = _check_request(event_id=event_id, counts=counts, now=now)

    previous = get_order_by_token(token=session.get(SESSION_ORDER_KEY))
    if previous is not None and previous.payment_pending:
        # Cancel the Swish request before the new hold is counted; the
        # receiver does network I/O, so no transaction is open here.
        pending_order_superseded.send(sender=Order, order=previous)

    for attempt in range(_MAX_ID_ATTEMPTS):
        try:
            order = run_locked(
                _reserve_locked,
                event_id=event.pk,
                counts=counts,
                offers=offers,
                previous_id=previous.pk if previous else None,
                now=now,
            )
            break
        except IntegrityError:
            # A drawn code is taken (about one in a billion): the transaction
            # is rolled back whole, so lock, count and draw again. Retrying
            # the whole spares every reservation a savepoint's round trips.
            logger.warning("code collision, attempt %d", attempt + 1)
    else:
        raise RuntimeError("could not draw unique ticket codes")
    # Committed: this process's cached listing must show the seats taken.
    listing_written()
    session[SESSION_ORDER_KEY] = order.token
    session.set_expiry(event.reservation_duration + SESSION_GRACE)
    logger.info(
        "reserved order=%s event=%s tickets=%s", order.reference, event.pk, counts
    )
    return order


def _check_request(
    *, event_id: int, counts: dict[int, int], now: datetime
) -> tuple[ChapterEvent, dict[int, TicketOffer]]:
    """Check what needs no lock: the event, its ticket types and the maximum.

    One query when all is well: the requested offers with their event and
    ticket type. Only when none is found does a second query tell a missing
    event from a missing ticket type.
    """
    offers = {
        offer.ticket_type_id: offer for offer in _read_offers(event_id, counts, now)
    }
    if offers:
        event = next(iter(offers.values())).event
    else:
        event = ChapterEvent.objects.filter(pk=event_id, sales_stop_at__gt=now).first()
    if event is None:
        raise EventDoesNotExist()
    if set(counts) - set(offers):
        raise TicketTypeDoesNotExist()
    if event.sales_start_at is not None and event.sales_start_at > now:
        raise SalesNotStarted()
    if sum(counts.values()) > event.max_tickets_per_payment:
        raise TooManyTickets(event.max_tickets_per_payment)
    return event, offers


def _read_offers(
    event_id: int, counts: dict[int, int], now: datetime
) -> list[TicketOffer]:
    """Read the requested visible offers of an event on sale, with the event
    and the ticket type, as ``select_related`` would (SQL built once)."""
    alias = connection.alias
    params = [
        event_id,
        connection.ops.adapt_datetimefield_value(now),
        True,
        *counts,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_offers_sql(alias, len(counts)), params)
        rows = cursor.fetchall()
    offer_reader = row_reader(alias, TicketOffer)
    event_reader = row_reader(alias, ChapterEvent)
    type_reader = row_reader(alias, TicketType)
    offers = []
    for row in rows:
        offer = offer_reader.read(row)
        offer.event = event_reader.read(row, offer_reader.width)
        offer.ticket_type = type_reader.read(
            row, offer_reader.width + event_reader.width
        )
        offers.append(offer)
    return offers


@functools.cache
def _offers_sql(alias: str, n_types: int) -> str:
    quote = connections[alias].ops.quote_name
    offer = quote(TicketOffer._meta.db_table)
    event = quote(ChapterEvent._meta.db_table)
    ticket_type = quote(TicketType._meta.db_table)

    def column(table: str, model, name: str) -> str:
        return f"{table}.{quote(model._meta.get_field(name).column)}"

    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {select_columns(alias, TicketOffer)},"  # noqa: S608
        f" {select_columns(alias, ChapterEvent)},"
        f" {select_columns(alias, TicketType)}"
        f" FROM {offer}"
        f" INNER JOIN {event} ON {column(offer, TicketOffer, 'event')}"
        f" = {column(event, ChapterEvent, 'id')}"
        f" INNER JOIN {ticket_type} ON {column(offer, TicketOffer, 'ticket_type')}"
        f" = {column(ticket_type, TicketType, 'id')}"
        f" WHERE {column(offer, TicketOffer, 'event')} = %s"
        f" AND {column(event, ChapterEvent, 'sales_stop_at')} > %s"
        f" AND {column(ticket_type, TicketType, 'visible')} = %s"
        f" AND {column(offer, TicketOffer, 'ticket_type')}"
        f" IN ({', '.join(['%s'] * n_types)})"
    )


def _reserve_locked(
    *,
    event_id: int,
    counts: dict[int, int],
    offers: dict[int, TicketOffer],
    previous_id: int | None,
    now: datetime,
) -> Order:
    event = lock_event(event_id=event_id)
    # Re-read under the lock: sales may have stopped since the first check.
    if event.sales_stop_at <= now:
        raise EventDoesNotExist()
    if previous_id is not None:
        # Never a paid order, nor one whose payment is still in progress.
        Order.objects.filter(
            pk=previous_id, status=OrderStatus.RESERVED, payment_pending=False
        ).update(status=OrderStatus.FAILED_EXPIRED_RESERVATION, updated_at=now)

    # Count after locking: an earlier count may be stale by insert time.
    left = max(
        0,
        event.seats
        - count_live_tickets(event_ids=[event.pk], now=now).get(event.pk, 0),
    )
    limited = [t for t in counts if offers[t].limit is not None]
    if limited:
        live_by_type = count_live_tickets_by_type(
            event_ids=[event.pk], ticket_type_ids=limited, now=now
        )
        for type_id in limited:
            type_left = max(
                0,
                min(
                    offers[type_id].limit - live_by_type.get((event.pk, type_id), 0),
                    left,
                ),
            )
            if counts[type_id] > type_left:
                raise OutOfTickets(type_left)
    if sum(counts.values()) > left:
        raise OutOfTickets(left)

    total = sum(
        (offers[t].ticket_type.price * n for t, n in counts.items()), Decimal("0")
    )
    return _create_order(
        event=event, counts=counts, offers=offers, total=total, now=now
    )


def _create_order(
    *,
    event: ChapterEvent,
    counts: dict[int, int],
    offers: dict[int, TicketOffer],
    total: Decimal,
    now: datetime,
) -> Order:
    """Insert the order and its tickets with SQL built once per process (the
    ORM's ``create`` and ``bulk_create`` spent more CPU building the statements
    than the database spent running them, under the lock): one statement on
    PostgreSQL, two on SQLite, which has no INSERT in WITH. Sends no
    ``post_save``; ``reserve_tickets`` notes the write for the listing itself.
    """
    alias = connection.alias
    created = timezone.now()
    order = Order(
        token=secrets.token_urlsafe(32),
        reference=random_code(REFERENCE_LENGTH),
        event=event,
        status=OrderStatus.RESERVED,
        total_price=total,
        expires_at=now + event.reservation_duration,
        ticket_count=sum(counts.values()),
        created_at=created,
        updated_at=created,
    )
    tickets = [
        Ticket(
            event=event,
            ticket_type_id=type_id,
            price=offers[type_id].ticket_type.price,
            external_id=random_code(EXTERNAL_ID_LENGTH),
        )
        for type_id in sorted(counts)
        for _ in range(counts[type_id])
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, one round trip less under the lock.
            cursor.execute(
                _insert_order_and_tickets_sql(alias, len(tickets)),
                insert_params(alias, [order]) + _ticket_params(tickets),
            )
            mark_saved(alias, order, cursor.fetchone()[0])
            return order
        cursor.execute(insert_rows_sql(alias, Order, 1), insert_params(alias, [order]))
        mark_saved(alias, order, cursor.fetchone()[0])
        for ticket in tickets:
            ticket.order = order
        cursor.execute(
            insert_rows_sql(alias, Ticket, len(tickets)),
            insert_params(alias, tickets),
        )
        for ticket, (pk,) in zip(tickets, cursor.fetchall(), strict=True):
            mark_saved(alias, ticket, pk)
    return order


# The tickets' columns but their order, which the statement fills in.
_TICKET_VALUE_FIELDS = [
    f for f in Ticket._meta.concrete_fields if not f.primary_key and f.name != "order"
]


def _ticket_params(tickets: list[Ticket]) -> list:
    return [
        field.get_db_prep_save(getattr(ticket, field.attname), connection)
        for ticket in tickets
        for field in _TICKET_VALUE_FIELDS
    ]


@functools.cache
def _insert_order_and_tickets_sql(alias: str, n_tickets: int) -> str:
    """PostgreSQL: insert the order and, from its new id, its tickets; return
    the order's id (a data-modifying WITH)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    row = ", ".join(
        f"CAST(%s AS {f.cast_db_type(connection)})" for f in _TICKET_VALUE_FIELDS
    )
    ticket_fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    selected = ", ".join(
        "new_order." + quote(Order._meta.pk.column)
        if f.name == "order"
        else "v." + quote(f.column)
        for f in ticket_fields
    )
    # Only quoted names from the models go into the text; values are params.
    return (
        f"WITH new_order AS ({insert_rows_sql(alias, Order, 1)})"  # noqa: S608
        f" INSERT INTO {quote(Ticket._meta.db_table)}"
        f" ({', '.join(quote(f.column) for f in ticket_fields)})"
        f" SELECT {selected} FROM new_order,"
        f" (VALUES {', '.join([f'({row})'] * n_tickets)})"
        f" AS v ({', '.join(quote(f.column) for f in _TICKET_VALUE_FIELDS)})"
        f" RETURNING {quote(Ticket._meta.get_field('order').column)}"
    )
