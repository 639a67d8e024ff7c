"""The Swish app's way back: a signed, expiring link that shows one order's
status, reference and tickets without the session cookie, and nothing more."""

import re
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from tests.factories import event_with_types
from ticketshop.orders.models import Order
from ticketshop.shop.return_links import RETURN_SALT, make_return_value

pytestmark = pytest.mark.django_db


@pytest.fixture
def free_paid(reserve, post_json):
    """A 0 kr order of two tickets, confirmed (PAID) through the public API."""
    event, (free, _) = event_with_types(prices=("0", "99"), title="Gratiskonsert")
    order = reserve(event, [(free, 2)])
    response = post_json("/start_payment/", {"email_address": "hemlig@example.org"})
    assert response.status_code == 200 and response.json() == ""
    Order.objects.filter(pk=order.pk).update(name="Hemlig Person")
    order.refresh_from_db()
    return order


def _return_path(client) -> str:
    """The return link the pay page hands to the Swish app (its config)."""
    html = client.get("/pay/").content.decode()
    match = re.search(r'"payReturn": "(/pay/return/[^"]+/)"', html)
    assert match, "the pay page offers no return link"
    return match.group(1)


def test_pay_page_gives_the_swish_app_a_signed_return_link(client, free_paid):
    path = _return_path(client)
    signed = path.removeprefix("/pay/return/").rstrip("/")
    assert signing.loads(signed, salt=RETURN_SALT) == free_paid.pk


def test_return_link_shows_the_paid_order_without_the_session_cookie(client, free_paid):
    path = _return_path(client)
    stranger = Client(HTTP_ACCEPT_LANGUAGE="sv")  # no cookies at all
    response = stranger.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tack! Dina biljetter är betalda." in html
    assert "Gratiskonsert" in html
    for ticket in free_paid.tickets.all():
        assert ticket.external_id in html
        qr = stranger.get(f"{path}tickets/{ticket.external_id}/qr.svg")
        assert qr.status_code == 200
        assert qr["Content-Type"] == "image/svg+xml"
    # Never more than that order's state: no e-mail address, no name.
    assert "hemlig@example.org" not in html
    assert "Hemlig Person" not in html
    assert response["Cache-Control"] == "private, no-store"
    # And nothing found its way into a session.
    assert "sessionid" not in response.cookies


def test_return_link_speaks_english_to_an_english_browser(client, free_paid):
    path = _return_path(client)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert "Thank you! Your tickets are paid." in response.content.decode()


def test_return_status_endpoint_says_only_status_reference_and_tickets(
    client, free_paid
):
    path = _return_path(client)
    body = Client().get(f"{path}status/").json()
    assert body["state"] == "paid"
    assert body["status"] == "PAID"
    assert sorted(body["external_ids"]) == sorted(
        free_paid.tickets.values_list("external_id", flat=True)
    )
    assert set(body) == {
        "state",
        "status",
        "payment_pending",
        "reference",
        "tickets",
        "external_ids",
    }


def test_return_link_of_an_unpaid_order_shows_no_tickets(reserve, client):
    event, (standard, _) = event_with_types(prices=("150", "99"))
    order = reserve(event, [(standard, 1)])
    path = f"/pay/return/{make_return_value(order)}/"
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert "The order is not paid yet" in html
    ticket = order.tickets.get()
    assert ticket.external_id not in html
    qr = Client().get(f"{path}tickets/{ticket.external_id}/qr.svg")
    assert qr.status_code == 404
    assert Client().get(f"{path}status/").json()["state"] == "unpaid"


def test_return_link_never_shows_another_orders_ticket(client, free_paid, reserve):
    other_event, (free, _) = event_with_types(prices=("0", "99"))
    other = Client()
    other.post(
        "/reserve_ticket/",
        {
            "chapter_event": other_event.id,
            "tickets": [{"ticket_type": free.id, "count": 1}],
        },
        content_type="application/json",
    )
    other.post(
        "/start_payment/",
        {"email_address": "other@example.org"},
        content_type="application/json",
    )
    foreign = Order.objects.exclude(pk=free_paid.pk).get().tickets.get()
    path = _return_path(client)
    qr = Client().get(f"{path}tickets/{foreign.external_id}/qr.svg")
    assert qr.status_code == 404


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("sv", "Länken fungerar inte"), ("en", "This link does not work")],
)
def test_tampered_return_link_is_a_clear_400_page(
    client, free_paid, language, sentence
):
    path = _return_path(client)
    signed = path.removeprefix("/pay/return/").rstrip("/")
    value, stamp, signature = signed.split(":")
    other_value = signing.b64_encode(b"2").decode()  # another order's id
    for bad in (
        f"{other_value}:{stamp}:{signature}",
        f"{value}:{stamp}:{signature[:-2]}xx",
        "garbage",
        signing.dumps(free_paid.pk, salt="another-salt"),
    ):
        response = Client(HTTP_ACCEPT_LANGUAGE=language).get(f"/pay/return/{bad}/")
        assert response.status_code == 400, bad
        assert sentence in response.content.decode()
        status = Client().get(f"/pay/return/{bad}/status/")
        assert (status.status_code, status.json()) == (400, "InvalidReturnLink")


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("sv", "Länken har gått ut"), ("en", "This link has expired")],
)
def test_expired_return_link_is_a_clear_410_page(
    client, free_paid, settings, language, sentence
):
    path = _return_path(client)
    settings.SHOP_RETURN_LINK_MAX_AGE_SECONDS = 60
    later = signing.time.time() + 61
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = Client(HTTP_ACCEPT_LANGUAGE=language).get(path)
        status = Client().get(f"{path}status/")
    assert response.status_code == 410
    assert sentence in response.content.decode()
    assert (status.status_code, status.json()) == (410, "ReturnLinkExpired")
    # Within its age the same link works.
    assert Client().get(path).status_code == 200
