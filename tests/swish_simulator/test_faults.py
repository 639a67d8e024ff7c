"""A slow and flaky simulator, set at run time: a delay, a share of 503s and a
share of dropped connections per operation, from the JSON control endpoint or
`manage.py swish_faults`; every call counted per operation."""

import json
import socket
import uuid
from datetime import timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from ticketshop.swish_simulator import faults
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedFault

from .test_swish_api import API, body, new_id, put

CONTROL = "/swish-simulator/faults/"


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the simulator waited, instead of waiting them."""
    waited = []
    monkeypatch.setattr(faults.time, "sleep", waited.append)
    return waited


def calls(client) -> dict:
    return {op: v["calls"] for op, v in client.get(CONTROL).json().items()}


def paid_payment(client):
    request_id = new_id()
    response = put(client, request_id, body())
    token = response["PaymentRequestToken"]
    client.post(f"/swish-simulator/pay/{token}/", {"action": "approve"})
    return request_id


@pytest.mark.django_db
def test_every_call_is_counted_per_operation(client, sim_settings):
    request_id = paid_payment(client)
    client.get(f"{API}/v1/paymentrequests/{request_id}")
    client.get(f"{API}/v1/paymentrequests/{request_id}")
    client.patch(
        f"{API}/v1/paymentrequests/{request_id}",
        json.dumps([{"op": "replace", "path": "/status", "value": "cancelled"}]),
        content_type="application/json-patch+json",
    )
    refund_id = new_id()
    client.put(
        f"{API}/v2/refunds/{refund_id}",
        {
            "originalPaymentReference": client.get(
                f"{API}/v1/paymentrequests/{request_id}"
            ).json()["paymentReference"],
            "callbackUrl": "https://example.org/swish/callback/",
            "payerAlias": "1234679304",
            "amount": "100.00",
            "currency": "SEK",
        },
        content_type="application/json",
    )
    client.get(f"{API}/v1/refunds/{refund_id}")

    assert calls(client) == {
        "create_payment": 1,
        "read_payment": 3,
        "cancel_payment": 1,
        "create_refund": 1,
        "read_refund": 1,
        "callback": 0,  # sent from the background, after the commit
    }
    client.put(CONTROL, {"reset_calls": True}, content_type="application/json")
    assert set(calls(client).values()) == {0}


@pytest.mark.django_db
def test_delay_applies_to_the_operations_set_and_no_other(client, sim_settings, sleeps):
    request_id = new_id()
    put(client, request_id, body())
    answer = client.put(
        CONTROL,
        {"operations": ["read_payment", "read_refund"], "delay_seconds": 8},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json()["read_payment"]["delay_seconds"] == 8.0

    assert put(client, new_id(), body()).status_code == 201
    assert sleeps == []
    read = client.get(f"{API}/v1/paymentrequests/{request_id}")
    assert read.status_code == 200 and read.json()["id"] == request_id
    assert sleeps == [8.0]


@pytest.mark.django_db
def test_error_rate_one_answers_503_and_changes_nothing(client, sim_settings):
    call_command("swish_faults", "--operation", "create_payment", "--error-rate", "1")
    request_id = new_id()
    assert put(client, request_id, body()).status_code == 503
    assert client.get(f"{API}/v1/paymentrequests/{request_id}").status_code == 404

    call_command("swish_faults", "--clear")
    assert put(client, request_id, body()).status_code == 201


@pytest.mark.django_db
def test_a_dropped_call_closes_the_connection_without_an_answer(sim_settings):
    faults.set_faults(["read_payment"], drop_rate=1.0)
    server_side, client_side = socket.socketpair()
    try:
        request = RequestFactory().get("/")
        request.META["gunicorn.socket"] = server_side
        from ticketshop.swish_simulator.views import payment_request

        payment_request(request, new_id())
        client_side.settimeout(5)
        assert client_side.recv(100) == b""  # closed, nothing sent
    finally:
        server_side.close()
        client_side.close()


@pytest.mark.django_db
def test_without_gunicorns_socket_a_drop_is_an_empty_502(client, sim_settings):
    faults.set_faults(["read_payment"], drop_rate=1.0)
    response = client.get(f"{API}/v1/paymentrequests/{new_id()}")
    assert response.status_code == 502 and response.content == b""


def test_rates_split_the_calls():
    fault = faults.Fault(error_rate=0.25, drop_rate=0.5)
    assert [fault.outcome(roll) for roll in (0.0, 0.49, 0.5, 0.74, 0.75, 0.99)] == [
        "drop",
        "drop",
        "error",
        "error",
        "answer",
        "answer",
    ]


@pytest.mark.django_db
def test_a_fault_for_some_seconds_lapses_by_itself(client, sim_settings):
    call_command("swish_faults", "--error-rate", "1", "--for", "60")
    assert put(client, new_id(), body()).status_code == 503
    state = client.get(CONTROL).json()
    assert all(v["until"] and v["error_rate"] == 1.0 for v in state.values())

    SimulatedFault.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert put(client, new_id(), body()).status_code == 201
    assert client.get(CONTROL).json()["create_payment"]["error_rate"] == 0.0


@pytest.mark.django_db
def test_delete_clears_every_fault_and_keeps_the_counts(client, sim_settings):
    faults.set_faults(list(faults.OPERATIONS), error_rate=1.0)
    put(client, new_id(), body())
    state = client.delete(CONTROL).json()
    assert all(v["error_rate"] == 0.0 for v in state.values())
    assert state["create_payment"]["calls"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"error_rate": 1.5}, "shares from 0 to 1"),
        ({"error_rate": 0.6, "drop_rate": 0.6}, "more than 1"),
        ({"delay_seconds": 121}, "0 to 120"),
        ({"delay_seconds": -1}, "0 to 120"),
        ({"delay_seconds": "8"}, "must be numbers"),
        ({"drop_rate": True}, "must be numbers"),
        ({"seconds": 0}, "positive number"),
        ({"operations": ["read_everything"]}, "unknown operation read_everything"),
        ({"operations": []}, "unknown operation (none)"),
        ({"operations": "read_payment"}, "a list of names"),
    ],
)
def test_control_refuses_nonsense_with_a_sentence(client, sim_settings, data, error):
    response = client.put(CONTROL, data, content_type="application/json")
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not SimulatedFault.objects.filter(error_rate__gt=0).exists()


@pytest.mark.django_db
def test_control_refuses_a_body_that_is_not_an_object(client, sim_settings):
    for raw in (b"[]", b"{", b"null"):
        response = client.put(CONTROL, raw, content_type="application/json")
        assert response.status_code == 400


@pytest.mark.django_db
def test_control_is_the_simulators_only(client, sim_settings):
    sim_settings.SWISH_ENVIRONMENT = "test"
    assert client.get(CONTROL).status_code == 404
    assert client.put(CONTROL, {}, content_type="application/json").status_code == 404


@pytest.mark.django_db
def test_command_refuses_nonsense(sim_settings):
    with pytest.raises(CommandError, match="shares from 0 to 1"):
        call_command("swish_faults", "--drop-rate", "2")
    with pytest.raises(CommandError, match="--clear takes no fault options"):
        call_command("swish_faults", "--clear", "--delay", "3")


@pytest.mark.django_db
def test_command_shows_the_faults_and_counts(sim_settings, capsys):
    call_command("swish_faults", "--operation", "read_payment", "--delay", "8")
    shown = json.loads(capsys.readouterr().out)
    assert shown["read_payment"]["delay_seconds"] == 8.0
    assert shown["create_payment"]["delay_seconds"] == 0.0


@pytest.mark.django_db(transaction=True)
def test_callback_fault_loses_the_callback(live_server, sim_settings, receiver):
    faults.set_faults(["callback"], error_rate=1.0)
    token = _create(live_server.url, receiver)
    requests.post(
        f"{live_server.url}/swish-simulator/pay/{token}/",
        data={"action": "approve"},
        timeout=10,
    )
    assert scheduler.wait_idle()
    assert receiver.received == []
    assert faults.state()["callback"]["calls"] == 1


@pytest.mark.django_db(transaction=True)
def test_callback_delay_queues_it_for_later(live_server, sim_settings, receiver):
    faults.set_faults(["callback"], delay_seconds=60)
    token = _create(live_server.url, receiver)
    requests.post(
        f"{live_server.url}/swish-simulator/pay/{token}/",
        data={"action": "approve"},
        timeout=10,
    )
    # The callback's job ran (counted) and queued the send 60 s ahead.
    assert scheduler.wait_idle()
    assert faults.state()["callback"]["calls"] == 1
    assert receiver.received == []
    with scheduler._cv:
        queued = [job for job in scheduler._queue if job[2].__name__ == "send_callback"]
    assert len(queued) == 1 and queued[0][3][2] is True


def _create(base, receiver):
    response = requests.put(
        f"{base}{API}/v2/paymentrequests/{uuid.uuid4().hex.upper()}",
        json=body(callbackUrl=receiver.url),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.headers["PaymentRequestToken"]
