"""Scans made offline are applied once each, in order, conflicts reported."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signing import sign_ticket
from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import SCANNER_PASSWORD, ScannerAccountFactory, paid_ticket

pytestmark = pytest.mark.django_db


def offline_scan(ticket_or_text, *, shown="green", seen=0, use=True, at=None):
    text = (
        ticket_or_text
        if isinstance(ticket_or_text, str)
        else sign_ticket(
            external_id=ticket_or_text.external_id, event_id=ticket_or_text.event_id
        )
    )
    return {
        "key": uuid.uuid4().hex,
        "external_id": text,
        "use_ticket": use,
        "scanned_at": (at or timezone.now() - timedelta(minutes=5)).isoformat(),
        "shown": shown,
        "times_used_seen": seen,
    }


def sync(scans, password=SCANNER_PASSWORD):
    return APIClient().post(
        "/scan/sync/", {"password": password, "scans": scans}, format="json"
    )


def test_queue_is_applied_in_order_with_scan_times(scanner_account):
    ticket = paid_ticket()
    first_time = timezone.now() - timedelta(minutes=10)
    scans = [
        offline_scan(ticket, at=first_time),
        offline_scan(ticket, shown="amber", seen=1),
    ]

    response = sync(scans)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["times_used"] for r in results] == [0, 1]
    assert [r["conflict"] for r in results] == [False, False]
    ticket.refresh_from_db()
    assert ticket.times_used == 2
    logs = ScanLog.objects.order_by("scanned_at")
    assert [log.offline_key for log in logs] == [s["key"] for s in scans]
    assert logs[0].scanned_at == first_time
    assert logs[0].offline_result == "green"


def test_a_scan_sent_twice_is_applied_once(scanner_account):
    ticket = paid_ticket()
    scans = [offline_scan(ticket)]

    sync(scans)
    again = sync(scans).json()["results"]

    ticket.refresh_from_db()
    assert ticket.times_used == 1
    assert ScanLog.objects.count() == 1
    assert again[0]["duplicate"] is True
    assert again[0]["admitted"] is True


def test_ticket_used_at_another_door_meanwhile_is_a_conflict(scanner_account, scan):
    ticket = paid_ticket()
    scan(ticket.external_id)  # the other door, online

    results = sync([offline_scan(ticket, seen=0)]).json()["results"]

    assert results[0]["conflict"] is True
    assert results[0]["times_used"] == 1
    ticket.refresh_from_db()
    assert ticket.times_used == 2
    offline = ScanLog.objects.get(offline_key__isnull=False)
    assert offline.conflict is True
    assert ScanLog.objects.filter(conflict=True).count() == 1


def test_ticket_cancelled_after_the_download_is_refused_and_a_conflict(
    scanner_account,
):
    ticket = paid_ticket()
    Order.objects.filter(pk=ticket.order_id).update(status=OrderStatus.FAILED_ADMIN)

    results = sync([offline_scan(ticket)]).json()["results"]

    assert results[0]["admitted"] is False
    assert results[0]["status"] == OrderStatus.FAILED_ADMIN
    assert results[0]["conflict"] is True
    ticket.refresh_from_db()
    assert ticket.times_used == 0


def test_forged_payload_is_logged_as_unknown(scanner_account):
    forged = "TS1.AAAAAA.1." + "A" * 86

    results = sync([offline_scan(forged, shown="red", use=False)]).json()["results"]

    assert results[0]["status"] == "Ticket does not exist"
    assert results[0]["conflict"] is False
    log = ScanLog.objects.get()
    assert log.result == ScanResult.UNKNOWN
    assert log.offline_result == "red"


def test_wrong_password_is_401_and_applies_nothing(scanner_account):
    ticket = paid_ticket()

    response = sync([offline_scan(ticket)], password="nope")

    assert response.status_code == 401
    ticket.refresh_from_db()
    assert ticket.times_used == 0


@pytest.mark.parametrize(
    "scans",
    [
        [{"key": "short"}],
        [{**offline_scan("X"), "shown": "blue"}],
        [{**offline_scan("X"), "use_ticket": "yes"}],
        "not a list",
    ],
)
def test_malformed_scans_are_400(scanner_account, scans):
    response = sync(scans)

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert ScanLog.objects.count() == 0


def test_door_list_has_the_scanners_events_tickets_and_revoked_ids():
    ticket = paid_ticket()
    cancelled = paid_ticket(event=ticket.event)
    Order.objects.filter(pk=cancelled.order_id).update(status=OrderStatus.FAILED_ADMIN)
    other_event = paid_ticket()
    ScannerAccountFactory(name="Door A", events=[ticket.event])

    response = APIClient().post(
        "/scan/door/", {"password": SCANNER_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    door = response.json()
    assert door["scanner"] == "Door A"
    assert [e["id"] for e in door["events"]] == [ticket.event_id]
    assert door["tickets"][ticket.external_id][:3] == [ticket.event_id, "PAID", 0]
    assert door["tickets"][cancelled.external_id][1] == "FAILED_ADMIN"
    assert other_event.external_id not in door["tickets"]
    assert door["revoked"] == [cancelled.external_id]
    assert len(door["public_key"]) == 43
    assert ScanLog.objects.count() == 0


def test_door_list_needs_the_password(scanner_account):
    response = APIClient().post("/scan/door/", {"password": "x"}, format="json")

    assert response.status_code == 401
