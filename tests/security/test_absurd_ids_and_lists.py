"""Ids of absurd length and ticket lists longer than any order are refused
at once: 400/404 as the contract says, never a 500 (Python's int() refuses
strings of more than 4,300 digits with a ValueError)."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.factories import event_with_types
from tests.scanning.factories import SCANNER_PASSWORD, ScannerAccountFactory
from ticketshop.api import MAX_TICKET_LINES
from ticketshop.orders.views import ReserveTicketView

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def reserve(body):
    return APIClient().post("/reserve_ticket/", body, format="json")


@pytest.mark.parametrize("where", ["event", "ticket_type"])
@pytest.mark.parametrize("huge", [HUGE, " " + HUGE, "1" + "0" * 19])
def test_an_absurd_id_in_the_body_is_invalid_request_data(where, huge):
    event, (standard, _) = event_with_types()
    body = {
        "chapter_event": huge if where == "event" else str(event.pk),
        "tickets": [
            {"ticket_type": huge if where == "ticket_type" else standard.pk, "count": 1}
        ],
    }
    response = reserve(body)
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


def test_an_absurd_event_id_inside_a_qr_payload_is_an_unknown_ticket():
    ScannerAccountFactory()
    payload = f"TS1.ABCDEF.{HUGE}.AAAA"
    body = {"external_id": payload, "password": SCANNER_PASSWORD, "use_ticket": True}
    response = APIClient().put("/validate_ticket/", body, format="json")
    assert response.status_code == 404
    assert response.json() == {"times_used": -1, "status": "Ticket does not exist"}


def test_an_absurd_qr_payload_in_the_offline_sync_is_an_unknown_ticket():
    ScannerAccountFactory()
    scan = {
        "key": "k" * 16,
        "external_id": f"TS1.ABCDEF.{'9' * 480}.AAAA",
        "use_ticket": True,
        "scanned_at": "2026-01-01T20:00:00+01:00",
        "shown": "green",
        "times_used_seen": 0,
    }
    response = APIClient().post(
        "/scan/sync/",
        {"password": SCANNER_PASSWORD, "scans": [scan]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] != "PAID"


@pytest.mark.parametrize(
    "path",
    [
        f"/events/{HUGE}/",
        f"/admin/backoffice/salesoverview/event/{HUGE}/",
        f"/admin/backoffice/salesoverview/event/{HUGE}/issue/",
        f"/admin/orders/order/{HUGE}/change/",
        f"/admin/events/chapterevent/{HUGE}/change/",
    ],
)
def test_an_absurd_id_in_a_path_is_not_found(client, path):
    client.force_login(User.objects.create_superuser("boss", "b@example.org", "pw"))
    response = client.get(path)
    assert response.status_code in (302, 404)


def test_an_absurd_event_choice_in_the_exchange_form_is_no_500(client):
    from tests.backoffice.conftest import issue

    user = User.objects.create_superuser("boss", "b@example.org", "pw")
    event, (standard, _) = event_with_types()
    order = issue(user, event, {standard.pk: 1})
    client.force_login(user)
    response = client.post(
        f"/admin/backoffice/salesoverview/order/{order.pk}/exchange/",
        {"event": HUGE, f"type_{standard.pk}": HUGE},
    )
    assert response.status_code < 500


def test_a_ticket_list_longer_than_any_order_is_400_before_a_line_is_read(
    monkeypatch,
):
    event, (standard, _) = event_with_types()
    read = []
    original = ReserveTicketView.TicketLineInput.is_valid
    monkeypatch.setattr(
        ReserveTicketView.TicketLineInput,
        "is_valid",
        lambda self, **kw: read.append(1) or original(self, **kw),
    )
    line = {"ticket_type": standard.pk, "count": 1}
    response = reserve(
        {"chapter_event": event.pk, "tickets": [line] * (MAX_TICKET_LINES + 1)}
    )
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert read == []


def test_seventy_thousand_distinct_ticket_types_are_400_not_busy():
    event, _ = event_with_types()
    lines = [{"ticket_type": n, "count": 1} for n in range(1, 70_001)]
    response = reserve({"chapter_event": event.pk, "tickets": lines})
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


def test_a_list_of_the_events_types_is_still_served():
    event, (standard, student) = event_with_types(max_tickets_per_payment=8)
    lines = [{"ticket_type": standard.pk, "count": 1}] * 3 + [
        {"ticket_type": student.pk, "count": 1}
    ]
    assert reserve({"chapter_event": event.pk, "tickets": lines}).status_code == 201
