"""One offline queue sent by several requests at once is applied once."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
import requests
from django.utils import timezone

from ticketshop.orders.signing import sign_ticket
from ticketshop.scanning.models import ScanLog

from .factories import SCANNER_PASSWORD, ScannerAccountFactory, paid_ticket

SENDERS = 8


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sends_of_one_queue_apply_each_scan_once(live_server):
    ScannerAccountFactory()
    tickets = [paid_ticket() for _ in range(3)]
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    scans = [
        {
            "key": uuid.uuid4().hex,
            "external_id": sign_ticket(
                external_id=ticket.external_id, event_id=ticket.event_id
            ),
            "use_ticket": True,
            "scanned_at": at,
            "shown": "green",
            "times_used_seen": 0,
        }
        for ticket in tickets
    ]
    url = f"{live_server.url}/scan/sync/"
    body = {"password": SCANNER_PASSWORD, "scans": scans}
    # Verify the password once, so that the sends below start together.
    assert requests.post(url, json={**body, "scans": []}, timeout=30).ok
    barrier = Barrier(SENDERS)

    def send(_):
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return session.post(url, json=body, timeout=60)

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        responses = list(pool.map(send, range(SENDERS)))

    assert [r.status_code for r in responses] == [200] * SENDERS
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.times_used == 1
    assert ScanLog.objects.count() == len(scans)
    first_uses = [
        [result["times_used"] for result in r.json()["results"]] for r in responses
    ]
    assert first_uses == [[0, 0, 0]] * SENDERS
    fresh = [
        sum(not result["duplicate"] for result in r.json()["results"])
        for r in responses
    ]
    assert sum(fresh) == len(scans)
