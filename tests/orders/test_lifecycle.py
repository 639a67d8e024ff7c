"""The order's state machine: allowed transitions, refused ones, the sweep."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import event_with_types, reserve_tickets
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.lifecycle import TRANSITIONS, TransitionNotAllowed
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod, RefundState
from ticketshop.orders.seats import count_live_tickets
from ticketshop.orders.services import TicketLine

pytestmark = pytest.mark.django_db


class Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def reserve(event, ticket_type, count=1, now=None):
    return reserve_tickets(
        session=Session(),
        event_id=event.id,
        lines=[TicketLine(ticket_type.id, count)],
        now=now,
    )


def locked(order):
    return lifecycle.lock_order(order.pk)


def test_the_docs_show_the_state_machines_own_table():
    table = lifecycle.describe_transitions()
    for name in TRANSITIONS:
        assert f"| {name} |" in table
    readme = Path(__file__).resolve().parents[2] / "docs" / "orders.md"
    assert table in readme.read_text()


def test_a_paid_order_cannot_be_released_failed_or_cancelled_as_unpaid():
    event, (standard, _) = event_with_types()
    order = reserve(event, standard)
    now = timezone.now()
    with transaction.atomic():
        lifecycle.start_payment(locked(order), email="a@example.org", now=now)
        lifecycle.pay(locked(order), reference="R", paid_at=now, now=now)
    with transaction.atomic():
        paid = locked(order)
        assert lifecycle.release(paid, now=now) is False
        with pytest.raises(TransitionNotAllowed):
            lifecycle.fail(paid)
        with pytest.raises(TransitionNotAllowed):
            lifecycle.renew(paid, now=now)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_a_lapsed_hold_cannot_be_paid_and_its_seats_count_no_more():
    event, (standard, _) = event_with_types(seats=2)
    now = timezone.now()
    order = reserve(event, standard, 2, now=now)
    later = now + event.reservation_duration + timedelta(seconds=1)
    assert count_live_tickets(event_ids=[event.id], now=later) == {}
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        lifecycle.pay(locked(order), reference="R", paid_at=later, now=later)


def test_a_new_reservation_sweeps_the_events_lapsed_holds_to_expired():
    event, (standard, _) = event_with_types(seats=3)
    now = timezone.now()
    lapsed = [reserve(event, standard, 1, now=now) for _ in range(3)]
    later = now + event.reservation_duration + timedelta(seconds=1)

    fresh = reserve(event, standard, 3, now=later)

    for order in lapsed:
        order.refresh_from_db()
        assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert fresh.status == OrderStatus.RESERVED
    assert count_live_tickets(event_ids=[event.id], now=later) == {event.id: 3}


def test_a_running_payment_is_never_swept_and_keeps_its_seats():
    event, (standard, _) = event_with_types(seats=1)
    now = timezone.now()
    paying = reserve(event, standard, 1, now=now)
    with transaction.atomic():
        lifecycle.start_payment(locked(paying), email="a@example.org", now=now)
    later = now + event.reservation_duration + timedelta(minutes=5)
    with pytest.raises(OutOfTickets):
        reserve(event, standard, 1, now=later)
    paying.refresh_from_db()
    assert paying.status == OrderStatus.RESERVED and paying.payment_pending


def test_complimentary_tickets_count_against_the_seats_unless_overridden():
    event, (standard, _) = event_with_types(seats=2)
    reserve(event, standard, 1)

    def issue(count, over=False):
        with transaction.atomic():
            return lifecycle.issue(
                event_id=event.id,
                counts={standard.id: count},
                prices={standard.id: Decimal("0")},
                name="Gäst",
                email="g@example.org",
                method=PaymentMethod.COMPLIMENTARY,
                allow_over_capacity=over,
            )

    with pytest.raises(OutOfTickets):
        issue(2)
    guest = issue(2, over=True)
    assert guest.status == OrderStatus.PAID
    assert guest.ticket_count == 2 and guest.total_price == 0


def test_cancelling_one_ticket_of_three_shrinks_the_order_and_frees_one_seat():
    event, (standard, _) = event_with_types(seats=3, prices=("100", "50"))
    order = reserve(event, standard, 3)
    now = timezone.now()
    with transaction.atomic():
        lifecycle.start_payment(locked(order), email="a@example.org", now=now)
        lifecycle.pay(locked(order), reference="R", paid_at=now, now=now)
    ticket = order.tickets.first()

    with transaction.atomic():
        amount = lifecycle.cancel_tickets(
            locked(order), ticket_ids=[ticket.pk], now=now
        )

    order.refresh_from_db()
    assert amount == Decimal("100")
    assert (order.ticket_count, order.total_price) == (2, Decimal("200"))
    assert order.status == OrderStatus.PAID
    assert order.refund_state == RefundState.PENDING
    assert count_live_tickets(event_ids=[event.id], now=now) == {event.id: 2}
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        lifecycle.cancel_tickets(locked(order), ticket_ids=[ticket.pk], now=now)
