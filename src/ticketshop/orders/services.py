"""Reservation: check the request, then reserve through the order's lifecycle.

The seats, the capacity check and the insert are ``orders.lifecycle.reserve``
under the event's seat lock; on PostgreSQL a new buyer first tries
``orders.lifecycle.reserve_by_counter``, one statement in a transaction of
its own. This module checks what needs no lock and releases the buyer's
earlier hold; it knows no HTTP session (the view finds the earlier order in
it and keeps the new one there, ``orders.sessions``).
"""

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.db.locks import run_locked
from ticketshop.events.errors import (
    EventDoesNotExist,
    SalesNotStarted,
    TicketTypeDoesNotExist,
)
from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType

from . import lifecycle
from .errors import TooManyTickets
from .lifecycle import EXTERNAL_ID_LENGTH, REFERENCE_LENGTH, random_code
from .models import Order
from .selectors import listing_written
from .signals import pending_order_superseded

logger = logging.getLogger(__name__)

__all__ = [
    "EXTERNAL_ID_LENGTH",
    "REFERENCE_LENGTH",
    "TicketLine",
    "random_code",
    "reserve_tickets",
]
_MAX_ID_ATTEMPTS = 10


@dataclass(frozen=True)
class TicketLine:
    ticket_type_id: int
    count: int


def merge_lines(lines: Iterable[TicketLine]) -> dict[int, int]:
    """Add up the counts of a ticket type listed more than once."""
    counts: dict[int, int] = {}
    for line in lines:
        counts[line.ticket_type_id] = counts.get(line.ticket_type_id, 0) + line.count
    return counts


def reserve_tickets(
    *,
    event_id: int,
    lines: Iterable[TicketLine],
    now: datetime | None = None,
    language: str = "",
    previous: Order | None = None,
    hold_until: datetime | None = None,
) -> Order:
    """Reserve seats, all or nothing; the order keeps the buyer's
    ``language`` (for the ticket e-mail). ``hold_until``: hold the seats
    until then instead of the event's reservation time (the waiting list's
    offers).

    Releases the buyer's ``previous`` order first if it is an unpaid
    reservation (the one their session held). Raises a
    ShopError (EventDoesNotExist, TicketTypeDoesNotExist, SalesNotStarted,
    TooManyTickets, OutOfTickets, Busy) and then writes nothing.
    """
    now = now or timezone.now()
    counts = merge_lines(lines)
    event, offers = _check_request(event_id=event_id, counts=counts, now=now)

    if previous is not None and previous.payment_pending:
        # Cancel the Swish request before the new hold is counted; the
        # receiver does network I/O, so no transaction is open here.
        pending_order_superseded.send(sender=Order, order=previous)

    prices = {t: offers[t].ticket_type.price for t in counts}
    limits = {t: offers[t].limit for t in counts}
    # PostgreSQL, the rush: one statement, its own transaction (unless the
    # caller has a transaction open; then reserve tries the counter in it).
    by_counter = (
        previous is None
        and hold_until is None
        and not connection.in_atomic_block
        and lifecycle.may_reserve_by_counter(counts=counts, limits=limits)
    )
    for attempt in range(_MAX_ID_ATTEMPTS):
        try:
            order = None
            if by_counter:
                order = lifecycle.reserve_by_counter(
                    event_id=event.pk,
                    counts=counts,
                    prices=prices,
                    now=now,
                    language=language,
                )
            if order is None:
                order = run_locked(
                    lifecycle.reserve,
                    event_id=event.pk,
                    release_order_id=previous.pk if previous else None,
                    counts=counts,
                    prices=prices,
                    limits=limits,
                    now=now,
                    language=language,
                    try_counter=not by_counter,
                    hold_until=hold_until,
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
    order.event = event
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
    if not all(offer.ticket_type.price.is_finite() for offer in offers.values()):
        # A price spoiled in the database (ticketshop.money.InvalidAmount)
        # is not on sale until an organiser fixes it.
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
        sql.value(alias, ChapterEvent, "sales_stop_at", now),
        sql.value(alias, TicketType, "visible", True),
        *counts,
    ]
    # Prepared on PostgreSQL: its planning took longer than running it.
    with sql.prepared_cursor(alias) as cursor:
        cursor.execute(_offers_sql(alias, len(counts)), params)
        rows = cursor.fetchall()
    offers = []
    for row in rows:
        offer, event, ticket_type = sql.read_models(
            alias, row, TicketOffer, ChapterEvent, TicketType
        )
        offer.event = event
        offer.ticket_type = ticket_type
        offers.append(offer)
    return offers


@functools.cache
def _offers_sql(alias: str, n_types: int) -> str:
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, TicketOffer)},"  # noqa: S608
        f" {sql.select_columns(alias, ChapterEvent)},"
        f" {sql.select_columns(alias, TicketType)}"
        f" FROM {sql.table(TicketOffer)}"
        f" INNER JOIN {sql.table(ChapterEvent)}"
        f" ON {sql.column(TicketOffer, 'event')} = {sql.column(ChapterEvent, 'pk')}"
        f" INNER JOIN {sql.table(TicketType)}"
        f" ON {sql.column(TicketOffer, 'ticket_type')} = {sql.column(TicketType, 'pk')}"
        f" WHERE {sql.column(TicketOffer, 'event')} = %s"
        f" AND {sql.column(ChapterEvent, 'sales_stop_at')} > %s"
        f" AND {sql.column(TicketType, 'visible')} = %s"
        f" AND {sql.column(TicketOffer, 'ticket_type')}"
        f" IN ({sql.placeholders(n_types)})"
    )
