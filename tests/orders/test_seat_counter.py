"""The event's seat counter, on both databases: never below the live tickets,
exact again whenever a reservation counts, and a reservation through it on
SQLite costs the same however many holds the event has (no count is taken).

The counter is an upper bound (orders.seatlock): seats freed by a lapse, a
cancellation or a refund lower the live tickets, not the counter, until the
next reservation that does not fit under it counts them and sets it exact.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.ops.consistency import check_seats
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import PaymentMethod, SeatCounter
from ticketshop.orders.seats import count_live_tickets
from ticketshop.orders.services import TicketLine, reserve_tickets

pytestmark = pytest.mark.django_db(transaction=True)


def _counter(event) -> int | None:
    row = SeatCounter.objects.filter(event=event).first()
    return None if row is None else row.held


def _live(event, now) -> int:
    return count_live_tickets(event_ids=[event.pk], now=now).get(event.pk, 0)


def _reserve(event, ticket_type, count, now):
    return reserve_tickets(
        event_id=event.pk, lines=[TicketLine(ticket_type.pk, count)], now=now
    )


def _pay(order, now):
    with transaction.atomic():
        locked = lifecycle.lock_order(order.pk)
        lifecycle.start_payment(locked, email="kim@example.com", now=now)
        lifecycle.pay(
            locked,
            reference=f"R{order.pk}",
            paid_at=now,
            now=now,
            method=PaymentMethod.SWISH,
        )


def _cancel(order, now):
    with transaction.atomic():
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=now)


def test_a_mixed_run_keeps_the_counter_at_or_above_the_live_tickets():
    event, (ticket_type,) = event_with_types(seats=20, prices=("100",))
    now = timezone.now()
    orders = [_reserve(event, ticket_type, 2, now) for _ in range(5)]
    # The first reservation counted (no counter yet) and set it exact; the
    # others went through it.
    assert _counter(event) == _live(event, now) == 10

    _pay(orders[0], now)
    _pay(orders[1], now)
    _cancel(orders[2], now)  # an unpaid hold cancelled
    _cancel(orders[0], now)  # a paid order cancelled: its refund is pending
    assert _live(event, now) == 6
    assert _counter(event) == 10  # freed seats do not lower it

    # Orders 3 and 4 lapse; only order 1 (paid) holds seats then.
    later = now + timedelta(minutes=event.reservation_minutes + 1)
    assert _live(event, later) == 2
    assert _counter(event) >= _live(event, later)

    # 10 more fit under the counter (10 + 10 <= 20): no count.
    _reserve(event, ticket_type, 8, later)
    _reserve(event, ticket_type, 2, later)
    assert _counter(event) == 20 and _live(event, later) == 12
    # The next does not fit under the counter but fits the seats: it counts,
    # sweeps the lapsed holds and sets the counter exact again.
    _reserve(event, ticket_type, 8, later)
    assert _counter(event) == _live(event, later) == 20
    with pytest.raises(OutOfTickets):
        _reserve(event, ticket_type, 1, later)
    assert _counter(event) == _live(event, later) == 20
    # The consistency check of seats and counters finds nothing (the payments
    # of this run were made by hand, so only the seats are asked).
    assert check_seats(later) == []


def test_an_organiser_taking_seats_leaves_the_counter_exact_or_unknown():
    event, (ticket_type,) = event_with_types(seats=10, prices=("100",))
    now = timezone.now()
    _reserve(event, ticket_type, 3, now)
    with transaction.atomic():
        lifecycle.issue(
            event_id=event.pk,
            counts={ticket_type.pk: 4},
            prices={ticket_type.pk: Decimal("0")},
            name="Gäst",
            email="guest@example.com",
            method=PaymentMethod.COMPLIMENTARY,
            now=now,
        )
    held = _counter(event)
    assert held is None or held >= _live(event, now) == 7
    _reserve(event, ticket_type, 3, now)
    with pytest.raises(OutOfTickets):
        _reserve(event, ticket_type, 1, now)
    assert _live(event, now) == 10


@pytest.mark.sqlite_only
def test_on_sqlite_a_reservation_through_the_counter_counts_no_holds():
    event, (ticket_type,) = event_with_types(seats=100_000, prices=("100",))
    now = timezone.now()
    for _ in range(30):
        _reserve(event, ticket_type, 2, now)
    with CaptureQueriesContext(connection) as queries:
        _reserve(event, ticket_type, 2, now)
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in statements if "SUM(" in s.upper()], statements
    assert _counter(event) == _live(event, now) == 62
