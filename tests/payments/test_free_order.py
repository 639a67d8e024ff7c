"""A 0 kr order end to end over HTTP: reserve, start_payment confirms it
without Swish, the status reads PAID at once, and the ticket e-mail is
written exactly once."""

import pytest

from tests.delivery.conftest import run_worker
from tests.factories import event_with_types
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_free_order_is_paid_at_once_without_swish_and_mailed_once(buyer, mailoutbox):
    event, (free, _) = event_with_types(seats=10, prices=("0", "99"))
    assert buyer.reserve(event, free, count=2).status_code == 201

    response = buyer.start_payment("gratis@example.org")
    assert response.status_code == 200, response.text
    assert response.json() == ""

    # No waiting and no Swish: the very next read says PAID.
    body = buyer.status()
    assert body["status"] == "PAID"
    assert body["mail"] == "gratis@example.org"
    assert body["total_price"] == "0"
    assert body["payment_pending"] is False
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert sorted(body["external_ids"]) == sorted(
        order.tickets.values_list("external_id", flat=True)
    )
    assert not SwishPayment.objects.exists()
    assert not SimulatedPaymentRequest.objects.exists()

    # Paying again is refused like any paid order's.
    again = buyer.start_payment("gratis@example.org")
    assert (again.status_code, again.json()) == (403, "AlreadyPaidPayment")

    # The ticket e-mail: written once, however often the worker runs.
    run_worker()
    run_worker()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["gratis@example.org"]
    for external_id in body["external_ids"]:
        assert external_id in mailoutbox[0].body
