"""The payer's side: GET shows the request, POST approve/decline settles it."""

import uuid

import pytest

from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client, sim_settings):
    response = client.put(
        f"/swish-simulator/swish-cpcapi/api/v2/paymentrequests/{uuid.uuid4().hex.upper()}",
        {
            "callbackUrl": "https://example.org/swish/callback/",
            "payeeAlias": "1234679304",
            "amount": "297.50",
            "currency": "SEK",
            "message": "Fysikalen Dag 1",
        },
        content_type="application/json",
    )
    return response["PaymentRequestToken"]


def test_page_shows_amount_message_and_buttons(client, token):
    page = client.get(f"/swish-simulator/pay/{token}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "297,50" in text and "Fysikalen Dag 1" in text
    assert 'value="approve"' in text and 'value="decline"' in text


@pytest.mark.parametrize(
    ("action", "status"), [("approve", "PAID"), ("decline", "DECLINED")]
)
def test_post_settles_the_request(client, token, action, status):
    response = client.post(f"/swish-simulator/pay/{token}/", {"action": action})

    assert response.status_code == 302
    assert SimulatedPaymentRequest.objects.get().status == status
    assert status in client.get(f"/swish-simulator/pay/{token}/").content.decode()
    # Settled once: the other button changes nothing.
    client.post(f"/swish-simulator/pay/{token}/", {"action": "approve"})
    assert SimulatedPaymentRequest.objects.get().status == status


def test_unknown_token_is_404_and_unknown_action_400(client, token):
    assert client.get("/swish-simulator/pay/nope/").status_code == 404
    response = client.post(f"/swish-simulator/pay/{token}/", {"action": "steal"})
    assert response.status_code == 400


def test_index_lists_requests(client, token):
    page = client.get("/swish-simulator/")
    assert page.status_code == 200
    assert token in page.content.decode()
