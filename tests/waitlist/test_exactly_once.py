"""A freed seat reaches the next person on the waiting list exactly once:
two workers at once, and a worker killed in the middle of an offer."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from ticketshop.backoffice.models import OutgoingMail
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.waitlist import services
from ticketshop.waitlist.models import Offer

from .conftest import cancel, join, run_worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)

# A worker that stops for good after writing its offer, inside the offer's
# transaction (the event's seat lock held, the hold and the offer inserted,
# the e-mail not yet queued), and says so in a file.
STALLED_WORKER = """
import sys, time, django
django.setup()
from ticketshop.waitlist import services
queue = services._queue_offer_mail
def stall(offer, entry):
    queue(offer, entry)
    open(sys.argv[2], "w").write(str(offer.pk))
    time.sleep(300)
services._queue_offer_mail = stall
services.offer_seats(event_id=int(sys.argv[1]))
"""


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def _on_list(event, n: int) -> None:
    for i in range(n):
        assert join(Client(), event, f"buyer{i}@example.org", 2).status_code == 201


def test_two_workers_at_once_offer_the_seats_once(sold_out):
    event, types, orders = sold_out
    _on_list(event, 3)
    cancel(orders[0])  # 2 seats back; its task is queued, not run
    made, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait(10)
            made.append(services.offer_seats(event_id=event.pk))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(len(m) for m in made) == [0, 1]
    run_worker()  # the queued task, a third pass: nothing more
    [offer] = Offer.objects.all()
    assert offer.entry.email == "buyer0@example.org" and offer.seats == 2
    assert OutgoingMail.objects.filter(key__startswith="waitlist-offer:").count() == 1


def test_a_worker_killed_mid_offer_leaves_the_seats_to_be_offered_once(
    sold_out, tmp_path
):
    event, types, orders = sold_out
    _on_list(event, 3)
    cancel(orders[0])
    marker = tmp_path / "offered"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "TICKETSHOP_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
    }
    log = (tmp_path / "worker.log").open("wb")
    stalled = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", STALLED_WORKER, str(event.pk), str(marker)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(
            lambda: marker.exists() or stalled.poll() is not None,
            60,
            "the first worker's offer",
        )
        assert marker.exists(), (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stalled.send_signal(signal.SIGKILL)
        stalled.wait(30)
        log.close()

    # Its transaction died with it: no offer, no hold, no e-mail.
    assert not Offer.objects.exists()
    assert not OutgoingMail.objects.exists()
    assert Order.objects.filter(event=event, status=OrderStatus.RESERVED).count() == 1

    run_worker()  # the second worker runs the task queued by the cancellation
    services.offer_everywhere()  # and the periodic pass finds nothing more
    [offer] = Offer.objects.all()
    assert offer.entry.email == "buyer0@example.org" and offer.seats == 2
    assert OutgoingMail.objects.filter(key=f"waitlist-offer:{offer.pk}").count() == 1
    assert Order.objects.filter(event=event, status=OrderStatus.RESERVED).count() == 2
