"""Refunds: v2 PUT, v1 GET, CREATED -> VALIDATED -> DEBITED -> PAID,
RF02/RF08/RF09, and the refund failure switch."""

import uuid

import pytest
from django.utils import timezone

from ticketshop.swish_simulator import services
from ticketshop.swish_simulator.models import SimulatedRefund

pytestmark = pytest.mark.django_db

API = "/swish-simulator/swish-cpcapi/api"


def new_id():
    return uuid.uuid4().hex.upper()


@pytest.fixture
def paid(client, sim_settings):
    sim_settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = 0
    request_id = new_id()
    client.put(
        f"{API}/v2/paymentrequests/{request_id}",
        {
            "callbackUrl": "https://example.org/swish/callback/",
            "payeeAlias": "1234679304",
            "amount": "300.00",
            "currency": "SEK",
        },
        content_type="application/json",
    )
    return client.get(f"{API}/v1/paymentrequests/{request_id}").json()


def refund(client, paid, refund_id=None, **changes):
    data = {
        "originalPaymentReference": paid["paymentReference"],
        "callbackUrl": "https://example.org/swish/callback/",
        "payerAlias": paid["payeeAlias"],
        "payeeAlias": paid["payerAlias"],
        "amount": "100.00",
        "currency": "SEK",
        "message": "Refund",
    }
    data.update(changes)
    return client.put(
        f"{API}/v2/refunds/{refund_id or new_id()}",
        data,
        content_type="application/json",
    )


def test_refund_is_created_then_debited_then_paid(client, paid):
    refund_id = new_id()
    response = refund(client, paid, refund_id)

    assert response.status_code == 201
    assert response["Location"].endswith(f"{API}/v1/refunds/{refund_id}")
    obj = client.get(f"{API}/v1/refunds/{refund_id}").json()
    assert obj["status"] == "PAID"
    assert obj["originalPaymentReference"] == paid["paymentReference"]
    assert obj["amount"] == 100.0


def test_refund_of_unknown_payment_is_rf02(client, paid):
    response = refund(client, paid, originalPaymentReference="0" * 32)
    assert response.json()[0]["errorCode"] == "RF02"


def test_refund_beyond_what_is_left_is_rf08_with_the_rest(client, paid):
    assert refund(client, paid, amount="250.00").status_code == 201
    response = refund(client, paid, amount="60.00")
    assert response.status_code == 422
    assert response.json() == [
        {
            "errorCode": "RF08",
            "errorMessage": response.json()[0]["errorMessage"],
            "additionalInformation": "50.00",
        }
    ]


def test_reused_refund_id_is_rf09_and_unknown_refund_404(client, paid):
    refund_id = new_id()
    refund(client, paid, refund_id)
    assert refund(client, paid, refund_id).json()[0]["errorCode"] == "RF09"
    assert client.get(f"{API}/v1/refunds/{new_id()}").status_code == 404


def test_refund_async_error_trigger_ends_in_error(client, paid):
    refund_id = new_id()
    refund(client, paid, refund_id, message="BANKIDCL")
    obj = client.get(f"{API}/v1/refunds/{refund_id}").json()
    assert obj["status"] == "ERROR"
    assert obj["errorCode"] == "BANKIDCL"


def test_a_repeated_refund_id_is_rf09_even_when_nothing_is_left(client, paid):
    """Sending the same refund again (its answer was lost) must read as
    "exists", not as "too much" because of the refund itself."""
    refund_id = new_id()
    assert refund(client, paid, refund_id, amount="300.00").status_code == 201
    again = refund(client, paid, refund_id, amount="300.00")
    assert again.status_code == 422
    assert [e["errorCode"] for e in again.json()] == ["RF09"]


def test_refund_steps_through_validated_and_debited(
    client, paid, sim_settings, monkeypatch
):
    """A read of a refund whose next step is due takes exactly that step. No
    clock decides here: each step is an hour away until the test makes it
    due, and the simulator's own timer is off, so only the reads advance it
    and a loaded machine cannot take two steps between two reads."""
    sim_settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 3600
    monkeypatch.setattr(services, "refund_step_when_due", lambda _id: None)
    refund_id = new_id()
    refund(client, paid, refund_id)
    seen = []
    for _ in range(10):
        status = client.get(f"{API}/v1/refunds/{refund_id}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "PAID":
            break
        SimulatedRefund.objects.filter(pk=refund_id).update(due_at=timezone.now())
    assert seen == ["CREATED", "VALIDATED", "DEBITED", "PAID"]


@pytest.mark.parametrize(("switch", "status"), [("500", 500), ("timeout", 504)])
def test_the_failure_switch_answers_without_creating(
    client, paid, sim_settings, switch, status
):
    sim_settings.SWISH_SIMULATOR_FAIL_REFUND = switch
    refund_id = new_id()
    assert refund(client, paid, refund_id).status_code == status
    assert client.get(f"{API}/v1/refunds/{refund_id}").status_code == 404


def test_the_failure_switch_can_hang_after_creating(client, paid, sim_settings):
    sim_settings.SWISH_SIMULATOR_FAIL_REFUND = "timeout-after-create"
    refund_id = new_id()
    assert refund(client, paid, refund_id).status_code == 201
    assert client.get(f"{API}/v1/refunds/{refund_id}").status_code == 200


def test_the_failure_switch_can_fail_a_refund_at_the_bank(client, paid, sim_settings):
    sim_settings.SWISH_SIMULATOR_FAIL_REFUND = "FF10"
    refund_id = new_id()
    assert refund(client, paid, refund_id).status_code == 201
    obj = client.get(f"{API}/v1/refunds/{refund_id}").json()
    assert (obj["status"], obj["errorCode"]) == ("ERROR", "FF10")
