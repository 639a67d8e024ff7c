"""The simulator posts the settled object to callbackUrl, with the
callbackIdentifier header, from the background (never inside the payer's
request); the switches drop or double it."""

import time
import uuid

import pytest
import requests

from ticketshop.swish_simulator.background import scheduler

pytestmark = pytest.mark.django_db(transaction=True)


def _create(base, receiver, identifier, **changes):
    request_id = uuid.uuid4().hex.upper()
    data = {
        "callbackUrl": receiver.url,
        "callbackIdentifier": identifier,
        "payeeAlias": "1234679304",
        "amount": "100.00",
        "currency": "SEK",
        "message": "Biljetter",
    }
    data.update(changes)
    response = requests.put(
        f"{base}/swish-simulator/swish-cpcapi/api/v2/paymentrequests/{request_id}",
        json=data,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return request_id, response.headers.get("PaymentRequestToken")


def _wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_callback_carries_the_object_and_identifier_after_the_payers_request(
    live_server, sim_settings, receiver
):
    identifier = uuid.uuid4().hex.upper()
    request_id, token = _create(live_server.url, receiver, identifier)
    # The merchant does not answer the callback until released below: had the
    # payer's request sent the callback itself, it could not return first (it
    # would time out, or come back after the callback was answered).
    receiver.release.clear()

    paid = requests.post(
        f"{live_server.url}/swish-simulator/pay/{token}/",
        data={"action": "approve"},
        timeout=8,
    )
    assert paid.status_code == 200
    assert receiver.received == []  # the payer was not kept waiting
    receiver.release.set()

    _wait(lambda: len(receiver.received) == 1)
    headers, body = receiver.received[0]
    assert headers["callbackIdentifier"] == identifier
    assert body["id"] == request_id
    assert body["status"] == "PAID"
    assert body["paymentReference"]


def test_async_error_trigger_calls_back_with_error(live_server, sim_settings, receiver):
    request_id, _ = _create(live_server.url, receiver, uuid.uuid4().hex, message="RF07")
    _wait(lambda: len(receiver.received) == 1)
    body = receiver.received[0][1]
    assert (body["id"], body["status"], body["errorCode"]) == (
        request_id,
        "ERROR",
        "RF07",
    )


def test_cancel_calls_back_with_cancelled(live_server, sim_settings, receiver):
    request_id, _ = _create(live_server.url, receiver, uuid.uuid4().hex)
    requests.patch(
        f"{live_server.url}/swish-simulator/swish-cpcapi/api/v1/paymentrequests/{request_id}",
        json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
        headers={"Content-Type": "application/json-patch+json"},
        timeout=10,
    )
    _wait(lambda: len(receiver.received) == 1)
    assert receiver.received[0][1]["status"] == "CANCELLED"


def test_drop_switch_sends_no_callback(live_server, sim_settings, receiver):
    sim_settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    request_id, _ = _create(live_server.url, receiver, uuid.uuid4().hex, message="FF10")
    # The request has ended (a callback would have been due then), and every
    # job due has run: only now does "no callback" mean something.
    url = f"{live_server.url}/swish-simulator/swish-cpcapi/api/v1/paymentrequests/"
    _wait(
        lambda: requests.get(url + request_id, timeout=10).json()["status"] == "ERROR"
    )
    assert scheduler.wait_idle()
    assert receiver.received == []


def test_double_switch_sends_it_twice(live_server, sim_settings, receiver):
    sim_settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS = True
    _create(live_server.url, receiver, uuid.uuid4().hex, message="FF10")
    _wait(lambda: len(receiver.received) == 2)
    assert receiver.received[0][1] == receiver.received[1][1]
