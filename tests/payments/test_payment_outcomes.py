"""Reserve -> start_payment -> the payer acts -> callback -> the order's state,
end to end over real HTTP (shop and simulator in one live server)."""

import pytest
from django_tasks_db.models import DBTaskResult

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def _order_status(status):
    return lambda: Order.objects.filter(status=status).first()


def test_approved_payment_marks_order_paid_with_reference_and_ticket_ids(
    buyer, event_and_type
):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, count=2)
    assert buyer.pay(token).status_code == 200

    order = wait_for(_order_status(OrderStatus.PAID))
    body = buyer.status()
    swish_side = SimulatedPaymentRequest.objects.get(token=token)
    assert swish_side.status == "PAID"
    assert swish_side.amount == 300
    assert swish_side.message == "Biljetter"
    assert swish_side.payee_payment_reference == order.reference
    assert body["status"] == "PAID"
    assert body["mail"] == "buyer@example.com"
    assert body["reference"] == swish_side.payment_reference
    assert sorted(body["external_ids"]) == sorted(
        order.tickets.values_list("external_id", flat=True)
    )
    assert order.paid_at is not None and not order.payment_pending
    payment = SwishPayment.objects.get()
    assert payment.raw["status"] == "PAID"
    assert payment.token == token
    # The ticket e-mail was queued in the same transaction.
    assert (
        DBTaskResult.objects.filter(task_path__endswith="send_order_tickets").count()
        == 1
    )


def test_declined_payment_fails_the_order_and_frees_its_seats(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, count=3)
    buyer.pay(token, action="decline")

    wait_for(_order_status(OrderStatus.FAILED_EXPIRED_RESERVATION))
    body = buyer.status()
    assert body["status"] == "FAILED_EXPIRED_RESERVATION"
    assert body["payment_status"] == SwishStatus.DECLINED
    assert body["reference"] is None and "external_ids" not in body
    order = Order.objects.get()
    assert not order.payment_pending
    tickets_left = buyer.http.get(f"{buyer.base}/get_chapterevents/").json()
    assert tickets_left["chapter_events"][0]["tickets_left"] == 10


def test_swish_timeout_tm01_fails_the_order(buyer, event_and_type, settings):
    settings.SWISH_SIMULATOR_TIMEOUT_SECONDS = 0.3
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)

    wait_for(_order_status(OrderStatus.FAILED_EXPIRED_RESERVATION))
    body = buyer.status()
    assert body["status"] == "FAILED_EXPIRED_RESERVATION"
    assert body["payment_status"] == "ERROR"
    assert body["payment_error"] == "TM01"


def test_message_tm01_trigger_fails_like_mss(buyer, event_and_type):
    event, standard = event_and_type
    event.swish_message = "TM01"
    event.save()
    buyer.reserved_and_started(event, standard)

    wait_for(_order_status(OrderStatus.FAILED_EXPIRED_RESERVATION))
    assert SwishPayment.objects.get().error_code == "TM01"


def test_autopay_pays_without_the_payer_and_calls_back(buyer, event_and_type, settings):
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = 0.2
    settings.SWISH_POLL_AFTER_SECONDS = 3600  # only the callback may settle it
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)

    wait_for(_order_status(OrderStatus.PAID))
    wait_for(lambda: SimulatedPaymentRequest.objects.get().callbacks_sent == 1)
    assert SwishPayment.objects.get().checked_at is not None  # read on callback
