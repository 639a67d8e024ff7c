"""DS24 (Swish timed out waiting for the bank): the outcome is unknown, so
the seats stay held and an organiser decides."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.admin_actions import confirmed
from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ds24_order(buyer, event_and_type):
    event, standard = event_and_type
    event.swish_message = "DS24"
    event.save()
    buyer.reserved_and_started(event, standard, 2)
    wait_for(lambda: SwishPayment.objects.get().error_code == "DS24")
    return Order.objects.get()


def test_ds24_keeps_the_order_pending_and_flags_it(ds24_order, buyer):
    order = ds24_order
    assert order.status == OrderStatus.RESERVED
    assert order.payment_pending
    assert order.needs_attention and "DS24" in order.attention_reason
    body = buyer.status()
    assert body["status"] == "RESERVED"
    assert body["payment_error"] == "DS24"
    left = buyer.http.get(f"{buyer.base}/get_chapterevents/").json()
    assert left["chapter_events"][0]["tickets_left"] == 8


def test_starting_again_during_ds24_answers_the_same_token_without_a_second_request(
    ds24_order, buyer
):
    # The pay page asks again after the event page started the payment; the
    # DS24 flag may come in between. The same token (the payment still runs
    # for the order), so the page polls and says "check with your bank".
    payment = SwishPayment.objects.get()
    response = buyer.start_payment()
    assert response.status_code == 200
    assert response.json() == payment.token
    assert SwishPayment.objects.count() == 1
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("mark_unknown_payment_paid", OrderStatus.PAID),
        ("release_unknown_payment", OrderStatus.FAILED_EXPIRED_RESERVATION),
    ],
)
def test_organiser_settles_it_by_hand(ds24_order, client, action, status):
    client.force_login(User.objects.create_superuser("o", "o@example.org", "pw"))

    changelist = reverse("admin:orders_order_changelist")
    chosen = {"action": action, "_selected_action": [ds24_order.pk]}
    # First the confirmation page, which changes nothing.
    assert client.post(changelist, chosen).status_code == 200
    assert Order.objects.get().payment_pending

    client.post(changelist, confirmed(client, changelist, chosen))

    order = Order.objects.get()
    assert order.status == status
    assert not order.payment_pending and not order.needs_attention
