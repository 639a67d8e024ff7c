"""Money Swish reports paid for an order the shop had already failed is never
lost silently: the order is flagged, and one admin action refunds it."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.admin_actions import confirmed
from tests.delivery.conftest import run_worker
from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import RefundStatus, SwishPayment, SwishRefund
from ticketshop.payments.services import refresh_payment
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest, SimulatedRefund

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid_after_failed(buyer, event_and_type, settings):
    """An organiser cancelled the order while its payment was pending; then
    the payer paid."""
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, 2)
    Order.objects.update(status=OrderStatus.FAILED_ADMIN)
    buyer.pay(token)
    scheduler.wait_idle()
    refresh_payment(payment=SwishPayment.objects.get())
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = False
    return Order.objects.get()


def test_paid_after_the_order_failed_is_flagged_not_revived(paid_after_failed):
    order = paid_after_failed
    assert order.status == OrderStatus.FAILED_ADMIN
    assert order.needs_attention
    assert "refund" in order.attention_reason
    assert not order.payment_pending
    assert SwishPayment.objects.get().status == "PAID"


def test_one_admin_action_refunds_it_and_clears_the_flag(paid_after_failed, client):
    organiser = User.objects.create_superuser("organiser", "o@example.org", "pw")
    client.force_login(organiser)
    changelist = reverse("admin:orders_order_changelist")
    assert client.get(f"{changelist}?swish=refund").status_code == 200

    chosen = {"action": "refund_via_swish", "_selected_action": [paid_after_failed.pk]}
    # The action first says what will happen, and does nothing yet.
    confirmation = client.post(changelist, chosen, HTTP_ACCEPT_LANGUAGE="en")
    assert confirmation.status_code == 200
    assert "300.00 kr paid back through Swish" in confirmation.text
    assert not SwishRefund.objects.exists()

    response = client.post(changelist, confirmed(client, changelist, chosen))

    assert response.status_code == 302
    refund = SwishRefund.objects.get()
    # Recorded with the decision; the task worker sends it.
    assert refund.status == RefundStatus.CREATING
    assert not SimulatedRefund.objects.exists()
    run_worker()
    swish_refund = SimulatedRefund.objects.get(pk=refund.refund_id)
    paid = SimulatedPaymentRequest.objects.get()
    assert swish_refund.original_payment_reference == paid.payment_reference
    assert swish_refund.payee_alias == paid.payer_alias
    assert swish_refund.amount == paid.amount == 300
    wait_for(lambda: SwishRefund.objects.get().status == RefundStatus.PAID)
    order = Order.objects.get()
    assert not order.needs_attention
    assert order.status == OrderStatus.FAILED_ADMIN
    # A second click finds nothing left to refund.
    again = {"action": "refund_via_swish", "_selected_action": [order.pk]}
    client.post(changelist, confirmed(client, changelist, again))
    assert SwishRefund.objects.count() == 1


def test_refunding_a_paid_order_cancels_it(buyer, event_and_type, client):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).exists())
    client.force_login(User.objects.create_superuser("o", "o@example.org", "pw"))

    changelist = reverse("admin:orders_order_changelist")
    chosen = {
        "action": "refund_via_swish",
        "_selected_action": [Order.objects.get().pk],
    }
    client.post(changelist, confirmed(client, changelist, chosen))

    assert Order.objects.get().status == OrderStatus.FAILED_ADMIN
    run_worker()
    wait_for(lambda: SwishRefund.objects.get().status == RefundStatus.PAID)
    page = client.get(
        reverse("admin:orders_order_change", args=[Order.objects.get().pk])
    )
    assert page.status_code == 200
    assert SimulatedPaymentRequest.objects.get().payment_reference in page.text
