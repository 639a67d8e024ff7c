"""The return page of the Swish app reads the order from the same source as
session_payment_status, the database: a lost callback is found by the
worker's scheduled read, and no page the buyer polls ever asks Swish."""

import re
import threading
from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.utils import timezone

from tests.payments.conftest import read_due_now, wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments import swish
from ticketshop.payments.models import SwishPayment

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

    # No callback arrives: the page waits, without asking Swish…
    assert requests.get(status_url, timeout=30).json()["state"] == "pending"
    # …until the worker's scheduled read (15-30 s after the start) finds it.
    assert read_due_now() == 1
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


def test_the_return_page_and_the_status_poll_never_ask_swish(
    buyer, event_and_type, settings
):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    path = _return_path(buyer)
    # Its read due long ago: a page that read Swish when due would read now
    # (and so does the worker's read loop, in a thread of its own).
    long_ago = timezone.now() - timedelta(minutes=5)
    SwishPayment.objects.update(created_at=long_ago, next_read_at=long_ago)
    calls = []
    real = swish._call

    def counting(name, *args, **kwargs):
        if threading.current_thread().name != "test-swish-reads":
            calls.append(name)
        return real(name, *args, **kwargs)

    with mock.patch.object(swish, "_call", counting):
        for _ in range(3):
            assert requests.get(f"{buyer.base}{path}", timeout=30).status_code == 200
            assert requests.get(f"{buyer.base}{path}status/", timeout=30).ok
            assert buyer.status()["status"] == "RESERVED"
        assert calls == []
        # The same counter sees the worker's read once Swish calls back.
        assert buyer.pay(token).status_code == 200
        wait_for(lambda: buyer.status()["status"] == "PAID")
    assert calls == []  # the read that paid was the worker's
