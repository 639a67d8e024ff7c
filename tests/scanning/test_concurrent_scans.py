"""Twenty doors scan one ticket at the same instant: no use lost, none added
twice, and a change that commits while a scan waits for the ticket counts."""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier, Event, Thread

import pytest
import requests
from django.db import connection, connections, transaction
from django.utils import timezone

from ticketshop.orders import lifecycle
from ticketshop.orders.models import OrderStatus, Ticket
from ticketshop.scanning.credentials import Scanner
from ticketshop.scanning.models import ScanLog, ScanResult
from ticketshop.scanning.services import validate_ticket

from .factories import (
    SCANNER_PASSWORD,
    OrderFactory,
    ScannerAccountFactory,
    TicketFactory,
    paid_ticket,
)

SCANNERS = 20
DOOR = Scanner(account_id=None, name="Dörr", event_ids=None)


# The id as a volunteer types it (any case: looked up with UPPER()), and as
# issued and read from the QR code (the exact match, on PostgreSQL the one
# statement that reads, uses and logs).
@pytest.mark.parametrize("typed", [str.lower, str], ids=["lower_case", "as_issued"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_each_see_a_distinct_previous_count(live_server, typed):
    ScannerAccountFactory()
    ticket = paid_ticket()
    url = f"{live_server.url}/validate_ticket/"
    # Verify the password once, so that the scans below start together.
    warm = requests.put(
        url,
        json={"external_id": "", "password": SCANNER_PASSWORD, "use_ticket": False},
        timeout=30,
    )
    assert warm.status_code == 404
    barrier = Barrier(SCANNERS)

    def scan_once(_):
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return session.put(
                url,
                json={
                    "external_id": typed(ticket.external_id),
                    "password": SCANNER_PASSWORD,
                    "use_ticket": True,
                },
                timeout=60,
            )

    with ThreadPoolExecutor(max_workers=SCANNERS) as pool:
        responses = list(pool.map(scan_once, range(SCANNERS)))

    assert [r.status_code for r in responses] == [200] * SCANNERS
    seen = sorted(r.json()["times_used"] for r in responses)
    assert seen == list(range(SCANNERS))
    assert all(r.json()["admitted"] for r in responses)
    ticket.refresh_from_db()
    assert ticket.times_used == SCANNERS
    logged = ScanLog.objects.filter(result=ScanResult.ADMITTED)
    assert sorted(logged.values_list("times_used_before", flat=True)) == seen


def _scan_in_thread(external_id: str, *, first_use_only: bool = False):
    try:
        return validate_ticket(
            scanner=DOOR,
            external_id=external_id,
            use_ticket=True,
            first_use_only=first_use_only,
        )
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_first_use_only_admits_one_of_twenty_doors_at_once():
    ticket = paid_ticket()
    barrier = Barrier(SCANNERS)

    def scan_once(_):
        barrier.wait(timeout=30)
        return _scan_in_thread(ticket.external_id, first_use_only=True)

    with ThreadPoolExecutor(max_workers=SCANNERS) as pool:
        outcomes = list(pool.map(scan_once, range(SCANNERS)))

    admitted = [o for o in outcomes if o.admitted]
    refused = [o for o in outcomes if not o.admitted]
    assert [o.times_used for o in admitted] == [0]
    # The others read the ticket unused, then found it used: each says so.
    assert {(o.status, o.result, o.times_used) for o in refused} == {
        (OrderStatus.PAID, ScanResult.VALID, 1)
    }
    ticket.refresh_from_db()
    assert ticket.times_used == 1
    results = sorted(ScanLog.objects.values_list("result", "times_used_before"))
    assert results == sorted(
        [(ScanResult.ADMITTED, 0)] + [(ScanResult.VALID, 1)] * (SCANNERS - 1)
    )


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname ="
            " current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# Row locks: the scan waits for the cancel's lock on the ticket's row.
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_cancel_committed_while_the_scan_waits_for_the_ticket_stops_the_use():
    # One ticket of two cancelled: the order stays paid, the ticket is not.
    order = OrderFactory(total_price=Decimal("398.00"))
    ticket, _other = TicketFactory(order=order), TicketFactory(order=order)
    locked, scanned = Event(), Event()
    result = {}

    def cancel():
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                locked.set()
                assert scanned.wait(timeout=30)
                lifecycle.cancel_tickets(
                    order, ticket_ids=[ticket.pk], now=timezone.now()
                )
        finally:
            connections.close_all()

    canceller = Thread(target=cancel)
    canceller.start()
    assert locked.wait(timeout=30)
    scanner = Thread(
        target=lambda: result.update(outcome=_scan_in_thread(ticket.external_id))
    )
    scanner.start()
    # The scan has read the ticket (paid, not cancelled) and now waits for
    # its row, which the cancel holds.
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock():
        assert time.monotonic() < deadline, "the scan never waited for the row"
        time.sleep(0.01)
    scanned.set()
    canceller.join(timeout=30)
    scanner.join(timeout=30)

    outcome = result["outcome"]
    assert not outcome.admitted
    assert (outcome.status, outcome.result) == (
        OrderStatus.FAILED_ADMIN,
        ScanResult.NOT_PAID,
    )
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    assert list(ScanLog.objects.values_list("result", "ticket_id")) == [
        (ScanResult.NOT_PAID, ticket.pk)
    ]
