"""Rows of the contract's session_payment_status and start_payment, over real
HTTP (shop and Swish simulator in one live server): an organiser's refund
reads FAILED_ADMIN, a payment request cancelled in Swish reads
FAILED_EXPIRED_RESERVATION, total_price with decimals, and unknown extra keys
in start_payment's body."""

import pytest
import requests

from tests.delivery.conftest import run_worker
from tests.factories import event_with_types
from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import RefundStatus, SwishPayment, SwishRefund
from ticketshop.payments.services import refund_order
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def seats_left(buyer) -> int:
    listing = buyer.http.get(f"{buyer.base}/get_chapterevents/", timeout=30).json()
    return listing["chapter_events"][0]["tickets_left"]


def seats_left_soon(buyer, expected: int) -> None:
    """The listing is cached for up to CHAPTEREVENTS_CACHE_SECONDS (1 s) and
    may lag a write by 0.1 s: it must show ``expected`` within that bound."""
    wait_for(lambda: seats_left(buyer) == expected, timeout=1.5)


def test_refund_by_the_organiser_reads_failed_admin(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, count=2)
    buyer.pay(token)
    wait_for(lambda: buyer.status()["status"] == "PAID")
    assert seats_left(buyer) == 8

    # The organiser's one click in the admin.
    refund_ids = refund_order(order_id=Order.objects.get().pk, requested_by="organiser")

    body = buyer.status()
    assert body["status"] == "FAILED_ADMIN"
    assert "external_ids" not in body
    seats_left_soon(buyer, 10)
    assert len(refund_ids) == 1
    run_worker()  # sends the refund
    wait_for(lambda: SwishRefund.objects.get().status == RefundStatus.PAID)
    assert buyer.status()["status"] == "FAILED_ADMIN"


def test_payment_cancelled_in_swish_reads_failed_expired_reservation(
    buyer, event_and_type
):
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard, count=3)
    assert buyer.status()["status"] == "RESERVED"
    assert seats_left(buyer) == 7
    request_id = SwishPayment.objects.get().request_id

    # Cancelled in Swish (the merchant's cancel through Swish's own API).
    cancelled = requests.patch(
        f"{buyer.base}/swish-simulator/swish-cpcapi/api/v1/paymentrequests/"
        f"{request_id}",
        json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
        headers={"Content-Type": "application/json-patch+json"},
        timeout=30,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert SimulatedPaymentRequest.objects.get().status == "CANCELLED"

    body = wait_for(lambda: (b := buyer.status())["status"] != "RESERVED" and b)
    assert body["status"] == "FAILED_EXPIRED_RESERVATION"
    assert body["payment_status"] == "CANCELLED"
    seats_left_soon(buyer, 10)


@pytest.mark.parametrize(("count", "total"), [(1, "99.50"), (2, "199"), (3, "298.50")])
def test_total_price_has_two_decimals_only_when_not_whole(swish, buyer, count, total):
    event, (half, _) = event_with_types(seats=10, prices=("99.50", "150"))

    assert buyer.reserve(event, half, count).status_code == 201

    assert buyer.status()["total_price"] == total


def test_unknown_extra_keys_in_start_payment_are_ignored(buyer, event_and_type):
    event, standard = event_and_type
    assert buyer.reserve(event, standard).status_code == 201

    response = buyer.http.post(
        f"{buyer.base}/start_payment/",
        json={
            "email_address": "buyer@example.com",
            "price": "150",
            "title": "Standardbiljett",
            "tickets": [{"ticket_type": standard.id, "count": 1}],
            "extra": {"nested": [1, None, True]},
        },
        timeout=30,
    )

    assert response.status_code == 200, response.text
    token = response.json()
    assert token and SimulatedPaymentRequest.objects.get().token == token
    body = buyer.status()
    assert body["mail"] == "buyer@example.com"
    assert body["status"] == "RESERVED"
    assert Order.objects.get().status == OrderStatus.RESERVED
