"""Issue 11, item 1: another site's page cannot act with the buyer's cookie.

Over HTTP against the live server: the attacks send what a no-cors fetch
from another port or subdomain sends (text/plain, the cookie, a foreign
Origin or Sec-Fetch-Site: same-site) and must change nothing, while the
front end on its allowed origin and clients without Origin still buy.
"""

import pytest

from ticketshop.orders.models import Order
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

from .conftest import Buyer, wait_for

FRONT_END = "https://front.example.org"
EVIL = "http://127.0.0.1:9999"


@pytest.fixture(autouse=True)
def front_end_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]


def forged_post(buyer, path, body: str, **headers):
    """A no-cors fetch from another page: text/plain, with the cookie."""
    return buyer.http.post(
        f"{buyer.base}{path}",
        data=body,
        headers={"Content-Type": "text/plain;charset=UTF-8", **headers},
        timeout=30,
    )


def test_forged_start_payment_cannot_replace_the_address(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)

    forged = forged_post(
        buyer, "/start_payment/", '{"email_address": "thief@example.com"}', Origin=EVIL
    )

    assert forged.status_code == 403
    assert forged.json() == "CrossSiteRequest"
    assert buyer.pay(token).status_code == 200
    wait_for(lambda: buyer.status()["status"] == "PAID")
    assert Order.objects.get().email == "buyer@example.com"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_forged_reservation_leaves_the_buyers_hold(buyer, event_and_type, headers):
    event, standard = event_and_type
    buyer.reserved_and_started(event, standard)
    body = (
        f'{{"chapter_event": {event.id}, '
        f'"tickets": [{{"ticket_type": {standard.id}, "count": 8}}]}}'
    )

    forged = forged_post(buyer, "/reserve_ticket/", body, **headers)
    # Even sent as JSON, a foreign origin is refused.
    forged_json = buyer.http.post(
        f"{buyer.base}/reserve_ticket/",
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )

    assert (forged.status_code, forged_json.status_code) == (403, 403)
    order = Order.objects.get()
    assert order.tickets.count() == 1 and order.payment_pending
    assert SimulatedPaymentRequest.objects.get().status == "CREATED"


def test_forged_scan_is_refused(live_server, db):
    http = Buyer(live_server.url).http
    response = http.put(
        f"{live_server.url}/validate_ticket/",
        json={"external_id": "AAAAAA", "password": "x", "use_ticket": True},
        headers={"Origin": EVIL},
        timeout=30,
    )
    assert response.status_code == 403
    assert response.json() == "CrossSiteRequest"


def test_text_plain_without_origin_is_invalid_request_data(buyer, event_and_type):
    event, standard = event_and_type
    body = (
        f'{{"chapter_event": {event.id}, '
        f'"tickets": [{{"ticket_type": {standard.id}, "count": 1}}]}}'
    )
    response = forged_post(buyer, "/reserve_ticket/", body)
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.exists()


def test_the_front_end_on_its_allowed_origin_buys_and_pays(buyer, event_and_type):
    event, standard = event_and_type
    buyer.http.headers.update({"Origin": FRONT_END, "Sec-Fetch-Site": "cross-site"})

    token = buyer.reserved_and_started(event, standard)

    assert buyer.pay(token).status_code == 200
    wait_for(lambda: buyer.status()["status"] == "PAID")


def test_the_shops_own_pages_buy_and_pay(buyer, event_and_type):
    event, standard = event_and_type
    buyer.http.headers.update({"Origin": buyer.base, "Sec-Fetch-Site": "same-origin"})

    token = buyer.reserved_and_started(event, standard)

    assert buyer.pay(token).status_code == 200
    wait_for(lambda: buyer.status()["status"] == "PAID")


def test_a_client_without_origin_buys_and_pays(buyer, event_and_type):
    event, standard = event_and_type

    token = buyer.reserved_and_started(event, standard)

    assert buyer.pay(token).status_code == 200
    wait_for(lambda: buyer.status()["status"] == "PAID")
