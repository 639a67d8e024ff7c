"""Every transition that frees seats tells the waiting list, after its
transaction commits, and only then; one that frees none does not."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signals import seats_came_back

from .conftest import hold

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    events = []

    def listener(sender, *, event_id, **kwargs):
        events.append(event_id)

    seats_came_back.connect(listener)
    yield events
    seats_came_back.disconnect(listener)


def paid(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PAID, paid_at=timezone.now(), email="a@example.org"
    )
    order.refresh_from_db()
    return order


def run(change, order_id):
    now = timezone.now()
    with transaction.atomic(durable=True):
        change(lifecycle.lock_order(order_id), now)


def _release(order, now):
    assert lifecycle.release(order, now=now)


def _fail(order, now):
    lifecycle.start_payment(order, email="a@example.org", now=now)
    lifecycle.fail(order)


def _cancel(order, now):
    lifecycle.cancel(order, now=now)


def _cancel_some(order, now):
    first = order.tickets.order_by("pk").first()
    lifecycle.cancel_tickets(order, ticket_ids=[first.pk], now=now)


@pytest.mark.parametrize(
    "change, is_paid",
    [
        (_release, False),
        (_fail, False),
        (_cancel, False),
        (_cancel, True),  # cancel_paid: a refund follows
        (_cancel_some, True),
    ],
    ids=["release", "fail", "cancel", "cancel_paid", "cancel_tickets"],
)
def test_a_transition_that_frees_seats_tells_after_commit(heard, change, is_paid):
    event, types = event_with_types(seats=10)
    order = hold(event, types[0], 2)
    if is_paid:
        order = paid(order)
    heard.clear()
    run(change, order.pk)
    assert heard == [event.pk]


def test_nothing_is_told_when_the_transaction_rolls_back(heard):
    event, types = event_with_types(seats=10)
    order = hold(event, types[0], 2)
    heard.clear()
    with pytest.raises(RuntimeError):
        with transaction.atomic(durable=True):
            lifecycle.cancel(lifecycle.lock_order(order.pk), now=timezone.now())
            raise RuntimeError("rolled back")
    assert heard == []


def test_an_exchange_tells_the_event_it_left(heard):
    event, types = event_with_types(seats=10)
    other, other_types = event_with_types(seats=10)
    order = paid(hold(event, types[0], 2))
    heard.clear()
    with transaction.atomic(durable=True):
        lifecycle.exchange(
            order,
            event_id=other.pk,
            type_map={types[0].pk: other_types[0].pk},
            prices={other_types[0].pk: other_types[0].price},
            now=timezone.now(),
        )
    assert heard == [event.pk]


def test_the_sweep_of_lapsed_holds_tells_and_a_reservation_alone_does_not(heard):
    event, types = event_with_types(seats=10)
    hold(event, types[0], 2)
    assert heard == []  # reserving frees nothing
    later = timezone.now() + timedelta(hours=1)
    with transaction.atomic(durable=True):
        assert lifecycle.expire_lapsed(event_id=event.pk, now=later) == 1
    assert heard == [event.pk]
