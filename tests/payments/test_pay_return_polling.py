"""The return page of the Swish app reads the order from the same source as
session_payment_status: a lost callback is found by asking Swish, and Swish is
asked at most once per interval per order, whichever page asks."""

import re
from unittest import mock

import pytest
import requests

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments import settle

pytestmark = pytest.mark.django_db(transaction=True)


def _return_path(buyer) -> str:
    html = buyer.http.get(f"{buyer.base}/pay/", timeout=30).text
    return re.search(r'"payReturn": "(/pay/return/[^"]+/)"', html).group(1)


def test_return_page_finds_a_payment_whose_callback_was_lost(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, count=2)
    path = _return_path(buyer)
    status_url = f"{buyer.base}{path}status/"

    pending = requests.get(status_url, timeout=30).json()  # no cookies
    assert (pending["state"], pending["status"]) == ("pending", "RESERVED")
    assert buyer.pay(token).status_code == 200

    # No callback arrives: the return page's own polling asks Swish.
    paid = wait_for(
        lambda: (
            (body := requests.get(status_url, timeout=30).json())["state"] == "paid"
            and body
        )
    )
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert paid["reference"] == order.payment_reference
    page = requests.get(f"{buyer.base}{path}", timeout=30)
    assert order.payment_reference in page.text


def test_return_page_and_session_status_share_the_rate_limit(
    buyer, event_and_type, settings
):
    settings.SWISH_POLL_INTERVAL_SECONDS = 600.0
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)
    path = _return_path(buyer)

    asked = []
    real = settle.refresh_payment

    def counting(**kwargs):
        asked.append(kwargs["payment"].pk)
        return real(**kwargs)

    with mock.patch.object(settle, "refresh_payment", counting):
        for _ in range(3):
            assert requests.get(f"{buyer.base}{path}", timeout=30).status_code == 200
            assert requests.get(f"{buyer.base}{path}status/", timeout=30).ok
            assert buyer.status()["status"] == "RESERVED"
    assert len(asked) == 1
