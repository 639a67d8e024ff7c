"""Fixtures for payment tests over real HTTP: one live server hosts the shop
and the Swish simulator, and the shop's Swish client talks to it by HTTP."""

import threading
import time
from contextlib import contextmanager

import pytest
import requests
from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker

from tests.factories import event_with_types
from ticketshop.swish_simulator.background import scheduler


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Return predicate()'s first truthy value, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {predicate}")
        time.sleep(interval)


class ReadsWorker(threading.Thread):
    """What a run_worker reads from Swish, in threads of the test process: a
    read loop (the payments whose read is due) and the refunds' reads
    (queue "swish-reads"). A callback's read settles the order soon after,
    while the other tasks (the ticket e-mails) stay queued for the tests
    that run them."""

    def __init__(self) -> None:
        super().__init__(name="test-swish-reads", daemon=True)
        self.stopping = threading.Event()
        self.tasks = Worker(
            queue_names=["swish-reads"],
            interval=0.05,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-swish-reads",
            excluded_queue_names=[],
        )
        self.tasks_thread = threading.Thread(
            target=self._outlasting, args=(self.tasks.run,), daemon=True
        )

    def run(self) -> None:
        from ticketshop.payments.reads import run_reads

        self.tasks_thread.start()
        self._outlasting(lambda: run_reads(stop=self.stopping, idle_seconds=0.05))

    def _outlasting(self, loop) -> None:
        """Run ``loop`` until it returns, again after a database not yet (or
        no longer) there."""
        try:
            while not self.stopping.is_set():
                try:
                    loop()
                    return
                except Exception:
                    connection.close()
                    time.sleep(0.05)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.tasks.running = False
        self.join(timeout=30)
        self.tasks_thread.join(timeout=30)


@contextmanager
def swish_reads_worker():
    """Run a ReadsWorker for the block."""
    worker = ReadsWorker()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def read_due_now() -> int:
    """Make the scheduled read of every open payment due now, as time does
    (the ReadsWorker then reads them); return how many."""
    from django.utils import timezone

    from ticketshop.payments.models import SwishPayment, SwishStatus

    return SwishPayment.objects.filter(status=SwishStatus.CREATED).update(
        next_read_at=timezone.now()
    )


def _point_at_the_simulator(live_server, settings) -> None:
    """Point the shop's Swish client and callbacks at the live server's
    simulator, with test timings."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.SWISH_API_URL = ""
    settings.SWISH_CALLBACK_URL = ""
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 5.0
    settings.SWISH_POLL_INTERVAL_SECONDS = 0.0
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = None
    settings.SWISH_SIMULATOR_TIMEOUT_SECONDS = 600.0
    settings.SWISH_SIMULATOR_ERROR_DELAY_SECONDS = 0.0
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 0.0
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = False
    settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS = False
    settings.SWISH_SIMULATOR_FAIL_CREATE = ""
    settings.SWISH_SIMULATOR_FAIL_REFUND = ""
    # Refunds back to back (tests of the spacing set it again).
    settings.SWISH_REFUND_SPACING_SECONDS = 0.0
    settings.SWISH_SIMULATOR_HANG_SECONDS = 2.0


@pytest.fixture
def swish_without_worker(live_server, settings):
    """The live server's simulator (``_point_at_the_simulator``); its
    background work drained after. No worker reads Swish: a callback's read
    waits in the queue."""
    _point_at_the_simulator(live_server, settings)
    yield live_server
    scheduler.clear()
    assert scheduler.wait_idle(timeout=20)


@pytest.fixture
def swish(live_server, settings):
    """``swish_without_worker`` and a worker that reads a payment when its
    callback comes, as a run_worker does (reads.py). Modules import it with
    ``buyer`` (it needs no other fixture of this file)."""
    _point_at_the_simulator(live_server, settings)
    with swish_reads_worker():
        yield live_server
        scheduler.clear()
        assert scheduler.wait_idle(timeout=20)


class Buyer:
    """A buyer's browser: a cookie jar speaking to the live server."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def reserve(self, event, ticket_type, count: int = 1) -> requests.Response:
        return self.http.post(
            f"{self.base}/reserve_ticket/",
            json={
                "chapter_event": event.id,
                "tickets": [{"ticket_type": ticket_type.id, "count": count}],
            },
            timeout=30,
        )

    def start_payment(self, email: str = "buyer@example.com") -> requests.Response:
        return self.http.post(
            f"{self.base}/start_payment/", json={"email_address": email}, timeout=30
        )

    def status(self) -> dict:
        response = self.http.get(f"{self.base}/session_payment_status/", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def pay(self, token: str, action: str = "approve") -> requests.Response:
        """Act as the payer in the (simulated) Swish app."""
        return requests.post(
            f"{self.base}/swish-simulator/pay/{token}/",
            data={"action": action},
            timeout=30,
        )

    def reserved_and_started(self, event, ticket_type, count: int = 1) -> str:
        assert self.reserve(event, ticket_type, count).status_code == 201
        response = self.start_payment()
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def buyer(swish):
    buyer = Buyer(swish.url)
    yield buyer
    # A kept-alive connection keeps a server thread, and its database
    # session, alive (PostgreSQL then cannot drop the test database).
    buyer.http.close()


@pytest.fixture
def event_and_type(db):
    event, (standard, _) = event_with_types(seats=10, prices=("150", "99"))
    return event, standard


@pytest.fixture
def swish_live(swish):
    """The simulator alone, for client tests (same set-up as ``swish``)."""
    return swish
