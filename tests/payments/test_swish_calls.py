"""How the shop calls Swish (issue 14): the documented paths, one kept-alive
session per process, a short connect timeout, and a bound on calls in
flight that makes start_payment answer 503 "Busy" (never 500) and leaves
the order as it was."""

import threading
from decimal import Decimal

import pytest
import requests

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments import swish
from ticketshop.payments.models import SwishPayment
from ticketshop.payments.services import new_swish_id

BASE = "https://swish.example/swish-cpcapi/api/"


class FakeSession:
    """Records each request and answers like Swish would."""

    def __init__(self, status: int = 201, body=None, headers=None) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.status = status
        self.body = body
        self.headers = headers or {}

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        response = requests.Response()
        response.status_code = self.status
        response.headers.update(self.headers)
        response._content = (
            b"" if self.body is None else __import__("json").dumps(self.body).encode()
        )
        return response


@pytest.fixture
def fake(monkeypatch, settings):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = BASE
    settings.SWISH_CERT_PATH = "/etc/ticketshop/swish.pem"
    settings.SWISH_KEY_PATH = "/etc/ticketshop/swish.key"
    settings.SWISH_CA_PATH = ""
    settings.SWISH_PAYEE_ALIAS = "1231181189"
    settings.SWISH_CALLBACK_URL = "https://shop.example/swish/callback/"
    settings.SWISH_CONNECT_TIMEOUT_SECONDS = 3.0
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 10.0
    session = FakeSession(
        headers={"Location": "x", "PaymentRequestToken": "tok"}, body={"id": "X"}
    )
    monkeypatch.setattr(swish, "get_session", lambda: session)
    return session


def test_the_client_calls_swishs_current_paths_with_certificate_and_timeouts(fake):
    rid = new_swish_id()
    created = swish.create_payment_request(
        request_id=rid,
        amount=Decimal("150"),
        message="Fysikalen",
        reference="ABC123",
        callback_identifier="C" * 32,
    )
    assert created.token == "tok"
    swish.read_payment_request(rid)
    swish.cancel_payment_request(rid)
    swish.create_refund(
        refund_id="R" * 32,
        original_payment_reference="P" * 32,
        payer_alias_of_payment="46712345678",
        amount=Decimal("10"),
        message="Återbetalning",
        reference="ABC123",
        callback_identifier="D" * 32,
    )
    swish.read_refund("R" * 32)

    assert [(m, u) for m, u, _ in fake.calls] == [
        ("PUT", f"{BASE}v2/paymentrequests/{rid}"),
        ("GET", f"{BASE}v1/paymentrequests/{rid}"),
        ("PATCH", f"{BASE}v1/paymentrequests/{rid}"),
        ("PUT", f"{BASE}v2/refunds/{'R' * 32}"),
        ("GET", f"{BASE}v1/refunds/{'R' * 32}"),
    ]
    for _, _, kwargs in fake.calls:
        assert kwargs["cert"] == (
            "/etc/ticketshop/swish.pem",
            "/etc/ticketshop/swish.key",
        )
        # certifi's bundle with the roots Swish's servers chain to.
        assert kwargs["verify"] == swish.default_ca_bundle()
        assert kwargs["timeout"] == (3.0, 10.0)
    create_body = fake.calls[0][2]["json"]
    assert create_body == {
        "payeePaymentReference": "ABC123",
        "callbackUrl": "https://shop.example/swish/callback/",
        "callbackIdentifier": "C" * 32,
        "payeeAlias": "1231181189",
        "amount": "150.00",
        "currency": "SEK",
        "message": "Fysikalen",
    }
    assert fake.calls[2][2]["json"] == [
        {"op": "replace", "path": "/status", "value": "cancelled"}
    ]
    assert fake.calls[2][2]["headers"] == {
        "Content-Type": "application/json-patch+json"
    }
    refund_body = fake.calls[3][2]["json"]
    assert refund_body["payerAlias"] == "1231181189"
    assert refund_body["payeeAlias"] == "46712345678"
    assert refund_body["originalPaymentReference"] == "P" * 32


@pytest.mark.parametrize(
    ("status", "body", "error", "codes"),
    [
        (
            422,
            [{"errorCode": "AM06", "errorMessage": "x"}],
            swish.SwishRefused,
            ["AM06"],
        ),
        (404, None, swish.SwishRefused, []),
        (500, None, swish.SwishUnavailable, None),
        (302, None, swish.SwishUnavailable, None),
    ],
)
def test_answers_are_sorted_into_refused_and_unavailable(
    fake, status, body, error, codes
):
    fake.status, fake.body = status, body
    with pytest.raises(error) as raised:
        swish.read_payment_request(new_swish_id())
    if codes is not None:
        assert raised.value.codes == codes


def test_the_bound_refuses_a_call_beyond_it_without_sending(fake, settings):
    settings.SWISH_MAX_IN_FLIGHT = 2
    settings.BUSY_RETRY_AFTER_SECONDS = 2
    held = threading.Event()
    release = threading.Event()

    def hold():
        with swish.swish_slot():
            held.set()
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: swish.slots.in_flight == 2)
        with pytest.raises(swish.SwishBusy) as busy:
            swish.read_payment_request(new_swish_id())
        assert busy.value.retry_after == 2
        assert fake.calls == []
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert swish.slots.in_flight == 0
    swish.read_payment_request(new_swish_id())
    assert len(fake.calls) == 1


def test_a_thread_holding_a_slot_calls_again_without_another(fake, settings):
    settings.SWISH_MAX_IN_FLIGHT = 1
    with swish.swish_slot():
        swish.read_payment_request(new_swish_id())
        swish.cancel_payment_request(new_swish_id())
        assert swish.slots.in_flight == 1
    assert swish.slots.in_flight == 0


@pytest.mark.django_db(transaction=True)
def test_one_kept_alive_session_serves_every_call(swish_live):
    swish.close_session()
    ids = []
    for _ in range(3):
        rid = new_swish_id()
        swish.create_payment_request(
            request_id=rid,
            amount=Decimal("100.00"),
            message="Biljetter",
            reference="ORDER1",
            callback_identifier=new_swish_id(),
        )
        ids.append(rid)
    session = swish.get_session()
    for rid in ids:
        assert swish.read_payment_request(rid)["id"] == rid
        assert swish.get_session() is session
    pools = session.get_adapter(swish.base_url()).poolmanager.pools
    pools = [pools[key] for key in pools.keys()]
    # Six calls, one after the other, over one connection.
    assert sum(pool.num_connections for pool in pools) == 1
    assert sum(pool.num_requests for pool in pools) == 6


@pytest.mark.django_db(transaction=True)
def test_start_payment_beyond_the_bound_is_busy_and_changes_nothing(
    buyer, event_and_type, settings
):
    event, standard = event_and_type
    settings.SWISH_MAX_IN_FLIGHT = 1
    settings.BUSY_RETRY_AFTER_SECONDS = 3
    assert buyer.reserve(event, standard, 2).status_code == 201
    order = Order.objects.get()
    before = Order.objects.filter(pk=order.pk).values().get()

    # This test's thread holds the one slot: the server's thread gets none.
    with swish.swish_slot():
        response = buyer.start_payment()
        assert response.status_code == 503
        assert response.json() == "Busy"
        assert response.headers["Retry-After"] == "3"
        assert Order.objects.filter(pk=order.pk).values().get() == before
        assert not SwishPayment.objects.exists()

    retried = buyer.start_payment()
    assert retried.status_code == 200, retried.text
    assert retried.json()
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED and order.payment_pending


def test_a_failed_call_drops_the_kept_connections(fake, monkeypatch):
    closed = []
    monkeypatch.setattr(swish, "close_session", lambda: closed.append(True))

    def refuse(method, url, **kwargs):
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(fake, "request", refuse)
    with pytest.raises(swish.SwishUnavailable):
        swish.read_payment_request(new_swish_id())
    assert closed == [True]
