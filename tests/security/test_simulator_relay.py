"""Issue 11, item 6: the demo's simulator is no relay and takes no bad amount.

Over HTTP against the live server: a payment request with any callback URL
but the shop's own is 422 RP03 (nothing stored, nothing called back); huge,
infinite and NaN amounts and a broken IPv6 URL get Swish's codes, never 500.
"""

import uuid

import pytest
import requests

from ticketshop.swish_simulator.models import SimulatedPaymentRequest


@pytest.fixture
def simulator(swish):
    return f"{swish.url}/swish-simulator/swish-cpcapi/api/v2/paymentrequests/"


def create(simulator, raw: str) -> requests.Response:
    return requests.put(
        simulator + uuid.uuid4().hex.upper(),
        data=raw,
        headers={"Content-Type": "application/json", "Connection": "close"},
        timeout=30,
    )


def body(callback: str, amount: str = '"100.00"') -> str:
    return (
        f'{{"payeeAlias": "1234679304", "amount": {amount}, "currency": "SEK",'
        f' "callbackUrl": "{callback}", "message": "Test"}}'
    )


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:5432/swish/callback/",
        "https://attacker.example/swish/callback/",
        "http://[::1",
    ],
)
def test_other_callback_urls_are_rp03(simulator, callback):
    response = create(simulator, body(callback))
    assert response.status_code == 422
    assert [e["errorCode"] for e in response.json()] == ["RP03"]
    assert not SimulatedPaymentRequest.objects.exists()


@pytest.mark.parametrize(
    "amount,status,code",
    [
        ("1e308", 422, "AM02"),
        ("1" + "0" * 30, 422, "AM02"),
        ("Infinity", 400, None),
        ("NaN", 400, None),
    ],
)
def test_bad_amounts_get_swish_answers(simulator, swish, amount, status, code):
    response = create(simulator, body(f"{swish.url}/swish/callback/", amount))
    assert response.status_code == status
    if code:
        assert [e["errorCode"] for e in response.json()] == [code]
    assert not SimulatedPaymentRequest.objects.exists()


def test_the_shops_own_callback_url_is_accepted(simulator, swish):
    response = create(simulator, body(f"{swish.url}/swish/callback/"))
    assert response.status_code == 201
