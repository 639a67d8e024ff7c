"""The callback is a hint, never trusted: it queues a read of the request by
the task worker; lost or repeated callbacks do not matter (the worker's
scheduled reads and reconciliation), and junk is answered 200."""

from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.payments.conftest import read_due_now, wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def _paid_order():
    return Order.objects.filter(status=OrderStatus.PAID).first()


def test_dropped_callback_order_becomes_paid_by_the_workers_scheduled_read(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    scheduler.wait_idle()
    assert Order.objects.get().status == OrderStatus.RESERVED  # no callback came
    assert buyer.status()["status"] == "RESERVED"  # the poll does not ask Swish

    assert read_due_now() == 1  # its scheduled read, 15-30 s after the start

    body = wait_for(lambda: (b := buyer.status())["status"] == "PAID" and b)
    assert body["reference"] == SimulatedPaymentRequest.objects.get().payment_reference
    assert SimulatedPaymentRequest.objects.get().callbacks_sent == 0


def test_status_polls_never_ask_swish(buyer, event_and_type, settings):
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)
    SwishPayment.objects.update(
        created_at=timezone.now() - timedelta(seconds=3601),
        next_read_at=timezone.now() - timedelta(seconds=3600),
    )

    for _ in range(3):
        assert buyer.status()["status"] == "RESERVED"

    payment = SwishPayment.objects.get()
    assert payment.checked_at is None and payment.swish_reads == 0


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
    # The worker's read has applied Swish's answer (checked_at is set when the
    # read is claimed, before Swish answers).
    wait_for(lambda: SwishPayment.objects.get().raw is not None)
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

    # The same callback with the request's own identifier settles it (the
    # worker's read).
    assert callback(payment.callback_identifier).status_code == 200

    wait_for(lambda: Order.objects.get().status == OrderStatus.PAID)
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
    wait_for(lambda: Order.objects.get().status == OrderStatus.PAID)
