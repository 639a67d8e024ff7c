"""A scanner limited to some events answers WrongEvent for others, never using."""

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from tests.factories import ChapterEventFactory
from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import ScannerAccountFactory, paid_ticket, ticket_with_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    return ChapterEventFactory(), ChapterEventFactory()


@pytest.fixture
def scanner_account(events):
    # Overrides the conftest's account: this one may scan only the first event.
    return ScannerAccountFactory(events=[events[0]])


def test_ticket_of_another_event_is_wrong_event_and_not_used(scan, events):
    ticket = paid_ticket(order__event=events[1])

    for _ in range(2):
        response = scan(ticket.external_id, use_ticket=True)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "WrongEvent"
        assert body["times_used"] == 0
        assert body["admitted"] is False
        assert body["chapter_event"] == events[1].title

    ticket.refresh_from_db()
    assert ticket.times_used == 0
    assert list(ScanLog.objects.values_list("result", flat=True)) == [
        ScanResult.WRONG_EVENT,
        ScanResult.WRONG_EVENT,
    ]


def test_wrong_event_wins_over_unpaid(scan, events):
    ticket = ticket_with_status("RESERVED", event=events[1])

    assert scan(ticket.external_id).json()["status"] == "WrongEvent"


def test_ticket_of_an_allowed_event_is_used(scan, events):
    ticket = paid_ticket(order__event=events[0])

    body = scan(ticket.external_id).json()

    assert body["status"] == "PAID"
    assert body["times_used"] == 0
    ticket.refresh_from_db()
    assert ticket.times_used == 1


def test_account_without_events_scans_every_event(events):
    ScannerAccountFactory(password=make_password("all-doors-pass"))
    ticket = paid_ticket(order__event=events[1])

    response = APIClient().put(
        "/validate_ticket/",
        {
            "external_id": ticket.external_id,
            "password": "all-doors-pass",
            "use_ticket": True,
        },
        format="json",
    )

    assert response.json()["status"] == "PAID"
    ticket.refresh_from_db()
    assert ticket.times_used == 1
