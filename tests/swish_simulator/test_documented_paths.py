"""The simulator serves exactly the paths the shop's client calls (Swish's
current ones, ticketshop.payments.swish.PATHS) and Swish's minimum amount."""

import uuid

import pytest
from django.urls import Resolver404, resolve

from ticketshop.payments.swish import PATHS
from ticketshop.swish_simulator import views

pytestmark = pytest.mark.django_db

API = "/swish-simulator/swish-cpcapi/api/"

EXPECTED_VIEWS = {
    "create_payment_request": views.create_payment_request,
    "read_payment_request": views.payment_request,
    "cancel_payment_request": views.payment_request,
    "create_refund": views.create_refund,
    "read_refund": views.refund,
}


def new_id() -> str:
    return uuid.uuid4().hex.upper()


@pytest.mark.parametrize("name", sorted(PATHS))
def test_each_call_of_the_client_has_its_simulator_path(name):
    method, path = PATHS[name]
    match = resolve(API + path.format(id=new_id()))
    assert match.func is EXPECTED_VIEWS[name]


def test_the_decommissioned_v1_creates_are_not_served(client, sim_settings):
    for path in ("v1/paymentrequests", "v1/refunds"):
        with pytest.raises(Resolver404):
            resolve(API + path)
        assert (
            client.post(API + path, {}, content_type="application/json").status_code
            == 404
        )


def _create(client, amount):
    return client.put(
        f"{API}v2/paymentrequests/{new_id()}",
        {
            "payeePaymentReference": "0123456789",
            "callbackUrl": "https://example.org/swish/callback/",
            "payeeAlias": "1234679304",
            "amount": amount,
            "currency": "SEK",
        },
        content_type="application/json",
    )


@pytest.mark.parametrize("amount", ["0.01", "0.50", "0.99", 0.5])
def test_amounts_below_swishs_minimum_are_am06(client, sim_settings, amount):
    response = _create(client, amount)
    assert response.status_code == 422
    assert [e["errorCode"] for e in response.json()] == ["AM06"]


@pytest.mark.parametrize("amount", ["1.00", "1", 1])
def test_the_minimum_itself_is_accepted(client, sim_settings, amount):
    assert _create(client, amount).status_code == 201


def test_the_minimum_is_a_setting(client, sim_settings):
    sim_settings.SWISH_MIN_AMOUNT = __import__("decimal").Decimal("0.01")
    assert _create(client, "0.01").status_code == 201
