"""Session fixation: a buyer who pays on a cookie planted by someone else
does not pay for that person.

The attack: the attacker reserves, keeps a copy of the session cookie and
plants it in the victim's browser (a cookie set from a sibling subdomain, or
a shared computer). The victim sees a reservation, starts paying and pays.
Before, the attacker's copy then read the paid order's ticket ids (the
QR codes the door admits). Now starting the payment gives the order a new
token and the session a new cookie: the copy no longer reaches the order,
and the victim's own flow carries on, also from the original front end on
another origin (cookies with CORS).

Over HTTP against the live server and its Swish simulator.
"""

import copy

import pytest
from django.conf import settings

from tests.payments.conftest import Buyer, wait_for
from ticketshop.orders.models import Order

COOKIE = settings.SESSION_COOKIE_NAME
FRONT_END = "http://front.example"


def planted(attacker: Buyer) -> Buyer:
    """A browser holding a copy of the attacker's cookie (same domain, path)."""
    victim = Buyer(attacker.base)
    for cookie in attacker.http.cookies:
        if cookie.name == COOKIE:
            victim.http.cookies.set_cookie(copy.copy(cookie))
    return victim


def status_code(buyer: Buyer) -> int:
    return buyer.http.get(
        f"{buyer.base}/session_payment_status/", timeout=30
    ).status_code


@pytest.fixture
def attacker(swish):
    attacker = Buyer(swish.url)
    yield attacker
    attacker.http.close()


def test_planted_cookie_loses_the_order_when_the_victim_starts_paying(
    attacker, event_and_type
):
    event, ticket_type = event_and_type
    assert attacker.reserve(event, ticket_type, 2).status_code == 201
    victim = planted(attacker)
    try:
        answer = victim.start_payment("victim@example.com")
        assert answer.status_code == 200, answer.text
        assert victim.http.cookies[COOKIE] != attacker.http.cookies[COOKIE]

        # The attacker's copy can neither see nor act on the order any more.
        assert status_code(attacker) == 400
        again = attacker.start_payment("attacker@example.com")
        assert again.status_code == 400
        assert again.json() == "InvalidSession"

        assert victim.pay(answer.json()).status_code in (200, 302)
        paid = wait_for(lambda: victim.status()["status"] == "PAID" and victim.status())
        assert len(paid["external_ids"]) == 2
        assert status_code(attacker) == 400
        assert Order.objects.get().email == "victim@example.com"
    finally:
        victim.http.close()


def test_attacker_cannot_follow_by_reserving_again(attacker, event_and_type):
    """A new reservation on the old copy is the attacker's own, not the
    victim's order."""
    event, ticket_type = event_and_type
    assert attacker.reserve(event, ticket_type).status_code == 201
    victim = planted(attacker)
    try:
        assert victim.start_payment("victim@example.com").status_code == 200
        assert attacker.reserve(event, ticket_type).status_code == 201
        assert attacker.status()["mail"] is None
        assert victim.status()["mail"] == "victim@example.com"
    finally:
        victim.http.close()


def test_original_front_end_keeps_its_session_across_payment(
    buyer, event_and_type, settings
):
    """The front end on another origin calls with credentials: the new cookie
    comes back on a CORS response that allows credentials, and the next poll
    with it reads the order."""
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]
    event, ticket_type = event_and_type
    buyer.http.headers.update({"Origin": FRONT_END})
    assert buyer.reserve(event, ticket_type).status_code == 201
    before = buyer.http.cookies[COOKIE]

    answer = buyer.start_payment()
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert COOKIE in answer.cookies
    assert buyer.http.cookies[COOKIE] != before

    assert buyer.pay(answer.json()).status_code in (200, 302)
    assert wait_for(lambda: buyer.status()["status"] == "PAID")


def test_repeated_start_payment_keeps_the_same_session(buyer, event_and_type):
    """A second call while the payment runs (a double click, a retry) answers
    the same token and leaves the session as it is."""
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    first = buyer.start_payment()
    cookie = buyer.http.cookies[COOKIE]
    second = buyer.start_payment()
    assert second.json() == first.json()
    assert buyer.http.cookies[COOKIE] == cookie
    assert buyer.status()["payment_pending"] is True


def test_free_order_renews_the_session_too(attacker, event_and_type, db):
    from tests.factories import event_with_types

    event, (free, _) = event_with_types(seats=5, prices=("0", "0"))
    assert attacker.reserve(event, free).status_code == 201
    victim = planted(attacker)
    try:
        answer = victim.start_payment("victim@example.com")
        assert answer.json() == ""
        assert victim.status()["status"] == "PAID"
        assert status_code(attacker) == 400
    finally:
        victim.http.close()


def test_retry_after_swish_failed_renews_the_session(
    attacker, event_and_type, settings
):
    """A first start that Swish refused (500, no cookie set) keeps the order
    reachable for the retry, and the retry that succeeds renews it."""
    event, ticket_type = event_and_type
    assert attacker.reserve(event, ticket_type).status_code == 201
    victim = planted(attacker)
    try:
        settings.SWISH_SIMULATOR_FAIL_CREATE = "500"
        assert victim.start_payment("victim@example.com").status_code == 500
        settings.SWISH_SIMULATOR_FAIL_CREATE = ""
        assert victim.start_payment("victim@example.com").status_code == 200
        assert status_code(attacker) == 400
        assert victim.status()["payment_pending"] is True
    finally:
        victim.http.close()
