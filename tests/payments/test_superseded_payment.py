"""A new reservation in the same session cancels the old pending payment; a
payer who paid at that same moment keeps the paid order (RP07)."""

import threading

import pytest

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_reservation_cancels_the_pending_payment(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, 2)
    old = Order.objects.get()

    assert buyer.reserve(event, standard, 1).status_code == 201

    old.refresh_from_db()
    assert old.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert not old.payment_pending
    assert SimulatedPaymentRequest.objects.get(token=token).status == "CANCELLED"
    assert SwishPayment.objects.get(order=old).status == SwishStatus.CANCELLED
    new = Order.objects.exclude(pk=old.pk).get()
    assert new.status == OrderStatus.RESERVED
    assert buyer.status()["status"] == "RESERVED"
    # The payer can no longer pay the cancelled request.
    buyer.pay(token)
    assert SimulatedPaymentRequest.objects.get(token=token).status == "CANCELLED"
    left = buyer.http.get(f"{buyer.base}/get_chapterevents/").json()
    assert left["chapter_events"][0]["tickets_left"] == 9


def test_payment_made_just_before_the_cancel_keeps_the_order_paid(
    buyer, event_and_type, settings
):
    """The payer paid, its callback has not arrived, the buyer reserves again:
    Swish answers the cancel with RP07, the shop reads PAID and keeps it."""
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, 2)
    old = Order.objects.get()
    buyer.pay(token)
    scheduler.wait_idle()
    assert Order.objects.get().status == OrderStatus.RESERVED

    assert buyer.reserve(event, standard, 1).status_code == 201

    old.refresh_from_db()
    assert old.status == OrderStatus.PAID
    assert (
        old.payment_reference == SimulatedPaymentRequest.objects.get().payment_reference
    )
    assert not old.needs_attention
    assert Order.objects.filter(status=OrderStatus.RESERVED).count() == 1


@pytest.mark.parametrize("attempt", range(4))
def test_payer_paying_during_the_cancel_never_loses_the_payment(
    buyer, event_and_type, attempt
):
    """Approve and a new reservation race; whatever wins, the shop agrees with
    Swish: paid in Swish <=> the old order is PAID."""
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, 1)
    old = Order.objects.get()
    barrier = threading.Barrier(2)
    results = {}

    def approve():
        barrier.wait()
        results["pay"] = buyer.pay(token).status_code

    def reserve_again():
        barrier.wait()
        results["reserve"] = buyer.reserve(event, standard, 1).status_code

    threads = [threading.Thread(target=approve), threading.Thread(target=reserve_again)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"pay": 200, "reserve": 201}

    swish_status = SimulatedPaymentRequest.objects.get(token=token).status
    assert swish_status in ("PAID", "CANCELLED")
    expected = (
        OrderStatus.PAID
        if swish_status == "PAID"
        else OrderStatus.FAILED_EXPIRED_RESERVATION
    )
    wait_for(lambda: Order.objects.get(pk=old.pk).status == expected)
    scheduler.wait_idle()
    old.refresh_from_db()
    assert old.status == expected
    assert not old.payment_pending
