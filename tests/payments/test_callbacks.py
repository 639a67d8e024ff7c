"""The callback is a hint, never trusted; lost or repeated callbacks do not
matter (polling and reconciliation), and junk is answered 200."""

from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def _paid_order():
    return Order.objects.filter(status=OrderStatus.PAID).first()


def test_dropped_callback_order_becomes_paid_by_the_buyers_polling(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    assert Order.objects.get().status == OrderStatus.RESERVED  # no callback came

    body = buyer.status()

    assert body["status"] == "PAID"
    assert body["reference"] == SimulatedPaymentRequest.objects.get().payment_reference
    assert SimulatedPaymentRequest.objects.get().callbacks_sent == 0


def test_polling_is_rate_limited_per_order(buyer, event_and_type, settings):
    settings.SWISH_POLL_INTERVAL_SECONDS = 3600
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True

    buyer.status()
    first_check = SwishPayment.objects.get().checked_at
    buyer.status()
    buyer.status()

    assert first_check is not None
    assert SwishPayment.objects.get().checked_at == first_check


def test_polling_waits_a_few_seconds_before_asking_swish(
    buyer, event_and_type, settings
):
    settings.SWISH_POLL_AFTER_SECONDS = 3600
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)

    buyer.status()

    assert SwishPayment.objects.get().checked_at is None
    # Once the request is older than that wait, the same poll asks Swish.
    SwishPayment.objects.update(created_at=timezone.now() - timedelta(seconds=3601))

    buyer.status()

    assert SwishPayment.objects.get().checked_at is not None


def test_dropped_callback_order_becomes_paid_by_reconciliation(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    assert Order.objects.get().status == OrderStatus.RESERVED

    call_command("reconcile_payments")

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert (
        order.payment_reference
        == SimulatedPaymentRequest.objects.get().payment_reference
    )


def test_double_callback_changes_the_order_once(buyer, event_and_type, settings):
    settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    wait_for(_paid_order)
    wait_for(lambda: SimulatedPaymentRequest.objects.get().callbacks_sent == 2)
    paid_at = Order.objects.get().paid_at

    call_command("reconcile_payments")  # and a third way: nothing changes
    buyer.status()

    assert Order.objects.get().paid_at == paid_at
    deliveries = DBTaskResult.objects.filter(task_path__endswith="send_order_tickets")
    assert deliveries.count() == 1


def test_forged_callback_saying_paid_leaves_the_order_unpaid(buyer, event_and_type):
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)
    payment = SwishPayment.objects.get()
    forged = SimulatedPaymentRequest.objects.get().to_swish()
    forged.update(
        status="PAID", paymentReference="F" * 32, datePaid=forged["dateCreated"]
    )

    response = requests.post(
        f"{buyer.base}/swish/callback/",
        json=forged,
        headers={"callbackIdentifier": payment.callback_identifier},
        timeout=10,
    )

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    assert SwishPayment.objects.get().status == "CREATED"
    assert SwishPayment.objects.get().raw["status"] == "CREATED"  # read from Swish
    assert buyer.status()["status"] == "RESERVED"


def test_callback_with_the_wrong_identifier_is_ignored(buyer, event_and_type, settings):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)  # Swish now says PAID, but sends no callback
    scheduler.wait_idle()
    payment = SwishPayment.objects.get()

    def callback(identifier):
        return requests.post(
            f"{buyer.base}/swish/callback/",
            json={"id": payment.request_id, "status": "PAID"},
            headers={"callbackIdentifier": identifier},
            timeout=10,
        )

    response = callback("0" * 32)

    assert response.status_code == 200
    assert SwishPayment.objects.get().checked_at is None  # Swish was not asked
    assert SwishPayment.objects.get().status == SwishStatus.CREATED
    assert Order.objects.get().status == OrderStatus.RESERVED

    # The same callback with the request's own identifier settles it.
    assert callback(payment.callback_identifier).status_code == 200

    assert SwishPayment.objects.get().checked_at is not None
    assert SwishPayment.objects.get().status == SwishStatus.PAID
    assert Order.objects.get().status == OrderStatus.PAID


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"status": "PAID"}', "application/json"),
        (b'{"id": "0123456789ABCDEF0123456789ABCDEF", "status": "PAID"}', "text/plain"),
    ],
)
def test_unknown_or_malformed_callbacks_are_answered_200(
    client, db, body, content_type
):
    response = client.post("/swish/callback/", body, content_type=content_type)
    assert response.status_code == 200
    assert (
        client.post("/swish/callback", body, content_type=content_type).status_code
        == 200
    )


def test_callback_body_is_read_whatever_the_content_type(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    payment = SwishPayment.objects.get()

    response = requests.post(
        f"{buyer.base}/swish/callback/",
        data=f'{{"id": "{payment.request_id}"}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )

    assert response.status_code == 200
    assert Order.objects.get().status == OrderStatus.PAID
