"""A window of minutes: an admitted buyer reserves at once, and the e-mail
address is confirmed before the payment starts. An entry still unconfirmed
when its hold lapses passes its turn on. Over HTTP."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.factories import event_with_types
from tests.release.helpers import queued_event
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments import swish
from ticketshop.release import services
from ticketshop.release.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def swish_calls(monkeypatch):
    calls = []

    def create(**kwargs):
        calls.append(kwargs)
        return swish.Created(token=f"tok{len(calls)}", location="x")

    monkeypatch.setattr(swish, "create_payment_request", create)
    return calls


def join(client, event, email):
    response = client.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": email, "tickets": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def reserve(client, event, ticket_type):
    return client.post(
        "/reserve_ticket/",
        {
            "chapter_event": event.pk,
            "tickets": [{"ticket_type": ticket_type.pk, "count": 1}],
        },
        content_type="application/json",
    )


def pay(client, email="ada@example.org"):
    return client.post(
        "/start_payment/", {"email_address": email}, content_type="application/json"
    )


def admitted_buyer(**release):
    """An event with one admitted, unconfirmed buyer (a window of minutes)."""
    event, ticket_type, release = queued_event(seats=5, **release)
    client = Client()
    join(client, event, "ada@example.org")
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    entry = Entry.objects.get()
    assert entry.state == "admitted" and entry.email_confirmed_at is None
    return client, event, ticket_type, release, entry


def test_an_admitted_buyer_reserves_at_once_and_confirms_before_paying(swish_calls):
    client, event, ticket_type, release, entry = admitted_buyer()
    assert not release.is_ballot
    # The reservation needs no confirmation …
    assert reserve(client, event, ticket_type).status_code == 201
    # … the payment does, and nothing is asked of Swish before it.
    response = pay(client)
    assert (response.status_code, response.json()) == (403, "ConfirmationRequired")
    assert swish_calls == []
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and not order.payment_pending
    page = client.get(f"/queue/{event.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Confirm your e-mail address before you pay" in page.content.decode()
    page = client.get(f"/queue/{event.pk}/", HTTP_ACCEPT_LANGUAGE="sv")
    assert "innan du betalar" in page.content.decode()

    assert Client().get(f"/queue/confirm/{entry.confirm_token}/").status_code == 200
    entry.refresh_from_db()
    assert entry.state == "reserved" and entry.email_confirmed_at is not None
    response = pay(client)
    assert response.status_code == 200, response.content
    assert len(swish_calls) == 1


def test_unconfirmed_until_the_hold_lapses_passes_the_turn_on(swish_calls):
    client, event, ticket_type, release, entry = admitted_buyer()
    assert reserve(client, event, ticket_type).status_code == 201
    order = Order.objects.get()
    later = order.expires_at + timedelta(seconds=1)
    services.admit(release.pk, now=later)
    entry.refresh_from_db()
    assert entry.state == "passed"
    # The turn is gone: the hold is not renewed for it, even once confirmed.
    Client().get(f"/queue/confirm/{entry.confirm_token}/")
    response = pay(client)
    assert (response.status_code, response.json()) == (408, "SessionExpired")
    assert swish_calls == []
    response = client.get(f"/api/queue/status/?chapter_event={event.pk}")
    assert response.json()["state"] == "passed"


def test_a_confirmed_buyer_whose_hold_lapses_lapses_as_before(swish_calls):
    client, event, ticket_type, release, entry = admitted_buyer()
    Client().get(f"/queue/confirm/{entry.confirm_token}/")
    assert reserve(client, event, ticket_type).status_code == 201
    order = Order.objects.get()
    services.admit(release.pk, now=order.expires_at + timedelta(seconds=1))
    entry.refresh_from_db()
    assert entry.state == "lapsed"


def test_admitted_but_not_reserved_in_time_lapses_confirmed_or_not():
    # Reserving needs no confirmed address (its link is e-mailed at the
    # admission): the time to reserve, not the address, ended the turn.
    client, event, ticket_type, release, entry = admitted_buyer()
    assert entry.email_confirmed_at is None
    services.admit(release.pk, now=entry.admission_expires_at + timedelta(seconds=1))
    entry.refresh_from_db()
    assert entry.state == "lapsed"
    response = reserve(client, event, ticket_type)
    assert (response.status_code, response.json()) == (403, "NotAdmitted")


def test_a_first_come_event_pays_as_before(swish_calls):
    event, (ticket_type,) = event_with_types(prices=("100",))
    client = Client()
    assert reserve(client, event, ticket_type).status_code == 201
    assert pay(client).status_code == 200
    assert len(swish_calls) == 1
