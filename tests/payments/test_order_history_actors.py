"""Who the order's history names in a Swish payment: the buyer reserves and
starts it, then the worker's read after Swish's callback, its scheduled
read or reconciliation pays."""

import pytest
from django.core.management import call_command

from tests.payments.conftest import read_due_now, wait_for
from ticketshop.orders.lifecycle import ORDER
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.swish_simulator.background import scheduler

pytestmark = pytest.mark.django_db(transaction=True)

R, P = OrderStatus.RESERVED, OrderStatus.PAID


def _rows(order):
    return [
        (r.transition, r.from_state, r.to_state, r.actor)
        for r in ORDER.history(order.pk)
    ]


def _started(buyer, event, standard):
    token = buyer.reserved_and_started(event, standard)
    order = Order.objects.get()
    # Reserved, payment started and the session's new secret: the buyer's.
    assert _rows(order) == [
        ("reserve", "", R, "buyer"),
        ("start_payment", R, R, "buyer"),
        ("new_token", R, R, "buyer"),
    ]
    return order, token


def test_swish_callback_pays(buyer, event_and_type):
    event, standard = event_and_type
    order, token = _started(buyer, event, standard)
    buyer.pay(token)
    wait_for(lambda: Order.objects.get().status == P)
    assert _rows(order)[-1] == ("pay", R, P, "swish-callback")


def test_the_scheduled_read_pays_when_the_callback_is_lost(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    order, token = _started(buyer, event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    assert buyer.status()["status"] == "RESERVED"  # a poll reads no Swish
    assert read_due_now() == 1
    wait_for(lambda: buyer.status()["status"] == "PAID")
    assert _rows(order)[-1] == ("pay", R, P, "swish-read")


def test_reconciliation_by_hand_pays_when_the_callback_is_lost(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    order, token = _started(buyer, event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    call_command("reconcile_payments")
    assert _rows(order)[-1] == ("pay", R, P, "reconcile_payments")
