"""The simulator answers like Swish (swish.md sections 4-10): paths, status
codes, headers, validation and error bodies."""

import json
import re
import uuid

import pytest

from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db

API = "/swish-simulator/swish-cpcapi/api"


def new_id() -> str:
    return uuid.uuid4().hex.upper()


def body(**changes):
    data = {
        "payeePaymentReference": "0123456789",
        "callbackUrl": "https://example.org/swish/callback/",
        "callbackIdentifier": new_id(),
        "payeeAlias": "1234679304",
        "amount": "100.00",
        "currency": "SEK",
        "message": "Kingston USB Flash Drive 8 GB",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def put(client, request_id, data, content_type="application/json"):
    return client.put(
        f"{API}/v2/paymentrequests/{request_id}", data, content_type=content_type
    )


def test_create_answers_201_with_location_and_token(client, sim_settings):
    request_id = new_id()
    response = put(client, request_id, body())

    assert response.status_code == 201
    assert response.content == b""
    assert response["Location"] == (
        f"http://testserver{API}/v1/paymentrequests/{request_id}"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response["PaymentRequestToken"])


def test_ecommerce_request_gets_no_token(client, sim_settings):
    response = put(client, new_id(), body(payerAlias="46712345678"))
    assert response.status_code == 201
    assert "PaymentRequestToken" not in response


def test_get_returns_the_payment_request_object(client, sim_settings):
    request_id = new_id()
    put(client, request_id, body())

    response = client.get(f"{API}/v1/paymentrequests/{request_id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json;charset=UTF-8"
    obj = response.json()
    assert obj["id"] == request_id
    assert obj["status"] == "CREATED"
    assert obj["amount"] == 100.0
    assert obj["payeePaymentReference"] == "0123456789"
    assert obj["paymentReference"] is None and obj["datePaid"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["dateCreated"])


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"payeePaymentReference": "x" * 36}, "FF08"),
        ({"payeePaymentReference": "ref/1"}, "FF08"),
        ({"callbackUrl": None}, "RP03"),
        ({"callbackUrl": "http://example.org/cb"}, "RP03"),
        ({"callbackUrl": "https://attacker.example/swish/callback/"}, "RP03"),
        ({"callbackUrl": "http://127.0.0.1:6379/"}, "RP03"),
        ({"callbackUrl": "http://[::1"}, "RP03"),
        ({"callbackUrl": "https://example.org:99999/swish/callback/"}, "RP03"),
        ({"amount": 1e308}, "AM02"),
        ({"amount": 10**30}, "AM02"),
        ({"amount": "1" + "0" * 40}, "AM02"),
        ({"amount": -(10**30)}, "AM06"),
        ({"amount": 1e-300}, "PA02"),
        ({"amount": [1]}, "PA02"),
        ({"payerAlias": "0712"}, "BE18"),
        ({"payeeAlias": None}, "RP01"),
        ({"amount": None}, "PA02"),
        ({"amount": "12,09"}, "PA02"),
        ({"amount": "100.777"}, "PA02"),
        ({"amount": "0.00"}, "AM06"),
        ({"amount": "1000000000000.00"}, "AM02"),
        ({"currency": "EUR"}, "AM03"),
        ({"message": "x" * 51}, "RP02"),
        ({"message": "<script>"}, "RP02"),
    ],
)
def test_invalid_fields_are_422_with_swish_error_objects(
    client, sim_settings, changes, code
):
    response = put(client, new_id(), body(**changes))

    assert response.status_code == 422
    errors = response.json()
    assert [e["errorCode"] for e in errors] == [code]
    assert set(errors[0]) == {"errorCode", "errorMessage", "additionalInformation"}
    assert not SimulatedPaymentRequest.objects.exists()


def test_amount_as_number_and_plain_http_on_loopback_are_accepted(client, sim_settings):
    sim_settings.SWISH_CALLBACK_URL = "http://127.0.0.1:9/swish/callback/"
    response = put(
        client,
        new_id(),
        body(amount=150, callbackUrl="http://127.0.0.1:9/swish/callback"),
    )
    assert response.status_code == 201


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_unreadable_json(client, sim_settings, raw):
    text = json.dumps(body()).replace('"amount": "100.00"', '"amount": ' + raw.decode())
    assert raw.decode() in text
    response = client.put(
        f"{API}/v2/paymentrequests/{new_id()}",
        text,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not SimulatedPaymentRequest.objects.exists()


def test_payee_alias_that_is_no_swish_number_is_403_pa01(client, sim_settings):
    response = put(client, new_id(), body(payeeAlias="9991181189"))
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "PA01"


def test_reused_id_is_rp09(client, sim_settings):
    request_id = new_id()
    assert put(client, request_id, body()).status_code == 201
    response = put(client, request_id, body())
    assert response.status_code == 422
    assert response.json()[0]["errorCode"] == "RP09"


def test_second_ecommerce_request_for_a_payer_is_rp06(client, sim_settings):
    assert put(client, new_id(), body(payerAlias="46712345678")).status_code == 201
    response = put(client, new_id(), body(payerAlias="46712345678"))
    assert response.json()[0]["errorCode"] == "RP06"


def test_wrong_content_type_is_415_and_malformed_json_400(client, sim_settings):
    assert put(client, new_id(), body(), content_type="text/plain").status_code == 415
    assert (
        put(client, new_id(), "{", content_type="application/json").status_code == 400
    )
    assert put(client, "not-an-id", body()).status_code == 400


def test_unknown_id_is_404_without_body(client, sim_settings):
    response = client.get(f"{API}/v1/paymentrequests/{new_id()}")
    assert response.status_code == 404
    assert response.content == b""


def _patch(client, request_id, data, content_type="application/json-patch+json"):
    return client.patch(
        f"{API}/v1/paymentrequests/{request_id}", data, content_type=content_type
    )


CANCEL = [{"op": "replace", "path": "/status", "value": "cancelled"}]


def test_cancel_answers_the_cancelled_object_then_rp07(client, sim_settings):
    request_id = new_id()
    put(client, request_id, body())

    response = _patch(client, request_id, CANCEL)

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    again = _patch(client, request_id, CANCEL)
    assert again.status_code == 422
    assert again.json()[0]["errorCode"] == "RP07"


def test_cancel_with_another_patch_is_pa01_or_415(client, sim_settings):
    request_id = new_id()
    put(client, request_id, body())
    bad = [{"op": "replace", "path": "/status", "value": "paid"}]
    assert _patch(client, request_id, bad).json()[0]["errorCode"] == "PA01"
    assert _patch(client, request_id, CANCEL, "application/json").status_code == 415
    assert _patch(client, new_id(), CANCEL).status_code == 404


def test_autopay_pays_after_its_delay(client, sim_settings):
    sim_settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = 0
    request_id = new_id()
    put(client, request_id, body())

    obj = client.get(f"{API}/v1/paymentrequests/{request_id}").json()

    assert obj["status"] == "PAID"
    assert obj["payerAlias"] == "46464646464"
    assert re.fullmatch(r"[0-9A-F]{32}", obj["paymentReference"])
    assert obj["datePaid"] is not None


def test_unpaid_request_times_out_with_tm01(client, sim_settings):
    sim_settings.SWISH_SIMULATOR_TIMEOUT_SECONDS = 0
    request_id = new_id()
    put(client, request_id, body())

    obj = client.get(f"{API}/v1/paymentrequests/{request_id}").json()

    assert obj["status"] == "ERROR"
    assert obj["errorCode"] == "TM01"
    assert obj["errorMessage"]


def test_failure_switch_500_creates_nothing(client, sim_settings):
    sim_settings.SWISH_SIMULATOR_FAIL_CREATE = "500"
    assert put(client, new_id(), body()).status_code == 500
    assert not SimulatedPaymentRequest.objects.exists()


def test_failure_switch_timeout_hangs_and_creates_nothing(client, sim_settings):
    sim_settings.SWISH_SIMULATOR_FAIL_CREATE = "timeout"
    assert put(client, new_id(), body()).status_code == 504
    assert not SimulatedPaymentRequest.objects.exists()
