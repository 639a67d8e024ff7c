"""Twenty doors scan one ticket at the same instant over real HTTP: no use lost."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import SCANNER_PASSWORD, ScannerAccountFactory, paid_ticket

SCANNERS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_each_see_a_distinct_previous_count(live_server):
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
                    "external_id": ticket.external_id.lower(),
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
