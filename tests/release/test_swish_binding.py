"""A release that binds entries to a Swish number: the payment is requested
from that number (payerAlias), and a number holds one entry."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.release.helpers import queued_event
from ticketshop.payments import swish
from ticketshop.release import services
from ticketshop.release.models import Entry

pytestmark = pytest.mark.django_db


def test_the_payment_is_requested_from_the_entrys_swish_number(monkeypatch):
    calls = []

    def create(**kwargs):
        calls.append(kwargs)
        return swish.Created(token="tok", location="x")

    monkeypatch.setattr(swish, "create_payment_request", create)
    event, ticket_type, release = queued_event(bind_swish_number=True)
    client = Client()
    response = client.post(
        "/api/queue/join/",
        {
            "chapter_event": event.pk,
            "email": "ada@example.org",
            "tickets": 1,
            "swish_number": "+46 70 123 45 67",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    # The same number cannot hold a second entry.
    response = Client().post(
        "/api/queue/join/",
        {
            "chapter_event": event.pk,
            "email": "grace@example.org",
            "tickets": 1,
            "swish_number": "0701234567",
        },
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (409, "AlreadyInQueue")
    entry = Entry.objects.get()
    services.confirm(token=entry.confirm_token)
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    response = client.post(
        "/reserve_ticket/",
        {
            "chapter_event": event.pk,
            "tickets": [{"ticket_type": ticket_type.pk, "count": 1}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    response = client.post(
        "/start_payment/",
        {"email_address": "ada@example.org"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert [call["payer_alias"] for call in calls] == ["46701234567"]
