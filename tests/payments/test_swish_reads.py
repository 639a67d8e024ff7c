"""Request threads never wait on Swish except to create a payment: a
callback asks for one read of its payment, a worker's read loop reads it,
open requests are read on a schedule that backs off, and the callback
answers 503 when the shop cannot take it or cannot read Swish."""

import threading
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.core import mail
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.delivery.conftest import run_worker
from tests.factories import event_with_types
from tests.ops.test_metrics import sample
from tests.payments.conftest import Buyer
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.services import TicketLine, reserve_tickets
from ticketshop.payments import reads, swish
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.payments.services import new_swish_id
from ticketshop.swish_simulator.background import scheduler


def _queued_reads() -> int:
    """Payments a callback asked to read that no read loop has claimed."""
    return SwishPayment.objects.filter(read_queued=True).count()


def _callback(base: str, payment: SwishPayment) -> requests.Response:
    return requests.post(
        f"{base}/swish/callback/",
        json={"id": payment.request_id, "status": "PAID"},
        headers={"callbackIdentifier": payment.callback_identifier},
        timeout=10,
    )


@pytest.fixture
def quiet_buyer(swish_without_worker, settings):
    """A buyer over HTTP, the simulator sending no callback of its own and
    no worker running: the test sends the callbacks and runs the worker."""
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    buyer = Buyer(swish_without_worker.url)
    yield buyer
    buyer.http.close()


@pytest.fixture
def forget_reachability():
    reads._clear_seen_at = None  # ask the cache, whatever this process saw
    reads.note_reachable(True)
    yield
    reads._clear_seen_at = None
    reads.note_reachable(True)


# --- a callback queues one read; the worker's read settles -------------------


@pytest.mark.django_db(transaction=True)
def test_a_callback_queues_one_read_and_the_workers_read_pays(
    quiet_buyer, event_and_type, settings, forget_reachability
):
    settings.METRICS_TOKEN = "t0ken-t0ken"
    event, standard = event_and_type
    token = quiet_buyer.reserved_and_started(event, standard)
    assert quiet_buyer.pay(token).status_code == 200
    scheduler.wait_idle()
    payment = SwishPayment.objects.get()

    # Swish calls back three times (it retries); the shop reads nothing yet.
    for _ in range(3):
        assert _callback(quiet_buyer.base, payment).status_code == 200
    assert _queued_reads() == 1
    payment.refresh_from_db()
    assert payment.swish_reads == 0 and payment.callback_at is not None
    assert quiet_buyer.status()["status"] == "RESERVED"

    run_worker()  # the read, then the ticket e-mail it scheduled

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert SwishPayment.objects.get().swish_reads == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [order.email]
    assert quiet_buyer.status()["status"] == "PAID"
    metrics = requests.get(
        f"{quiet_buyer.base}/metrics",
        headers={"Authorization": "Bearer t0ken-t0ken"},
        timeout=10,
    ).text
    assert sample(metrics, "ticketshop_swish_reads_total") == 1


def _statements_of_one_read(quiet_buyer, event_and_type) -> list[str]:
    """The SQL the worker sends for one callback's read that pays."""
    event, standard = event_and_type
    token = quiet_buyer.reserved_and_started(event, standard)
    assert quiet_buyer.pay(token).status_code == 200
    scheduler.wait_idle()
    assert _callback(quiet_buyer.base, SwishPayment.objects.get()).status_code == 200
    with _statements() as statements:
        assert reads.read_next() is not None  # the read only
    assert Order.objects.get().status == OrderStatus.PAID
    return statements


@contextmanager
def _statements():
    """The SQL sent inside the block, transactions' BEGIN and COMMIT
    included, as text: a statement PostgreSQL prepared (db.sql's
    prepared_cursor) is logged without it, so it is taken from what the
    cursor was given."""
    given = []

    def keep(execute, sql, params, many, context):
        given.append(sql)
        return execute(sql, params, many, context)

    found: list[str] = []
    with connection.execute_wrapper(keep), CaptureQueriesContext(connection) as log:
        yield found
    texts = iter(given)
    for query in log.captured_queries:
        if query["sql"] in ("BEGIN", "COMMIT", "ROLLBACK"):
            found.append(query["sql"])
        else:
            text = next(texts)
            found.append(query["sql"] or text)


@pytest.mark.django_db(transaction=True)
def test_a_paying_read_writes_only_the_receipt_after_taking_its_number(
    quiet_buyer, event_and_type, forget_reachability
):
    """Concurrent payers queue at the receipt series' row from their number
    to their commit: the settlement takes the number last (the ticket
    e-mail is scheduled before ``pay``)."""
    statements = _statements_of_one_read(quiet_buyer, event_and_type)
    number = next(i for i, q in enumerate(statements) if "books_receiptseries" in q)
    commit = next(
        i for i, q in enumerate(statements) if i > number and q.startswith("COMMIT")
    )
    after = statements[number + 1 : commit]
    assert after and all(
        q.startswith(('INSERT INTO "books_receipt"', 'INSERT INTO "books_receiptline"'))
        for q in after
    ), after


@pytest.mark.django_db(transaction=True)
def test_a_paying_read_updates_its_payment_twice(
    quiet_buyer, event_and_type, forget_reachability
):
    """The claim (due, lease, next read, counted, no longer asked for) is
    one statement, an UPDATE that picks its row and returns it, with no
    transaction of its own; the answer's record, which ends the claim, is
    the other: no separate UPDATE per flag, none for the lease's end."""
    statements = _statements_of_one_read(quiet_buyer, event_and_type)
    assert statements[0].startswith('UPDATE "payments_swishpayment"'), statements[:2]
    assert " RETURNING " in statements[0]
    updates = [q for q in statements if q.startswith('UPDATE "payments_swishpayment"')]
    assert len(updates) == 2, updates
    assert '"swish_reads"' in updates[0] and '"read_queued"' in updates[0]
    assert "'PAID'" in updates[1] and '"reading_until" = NULL' in updates[1]
    assert statements[-1].startswith("COMMIT"), statements[-1]
    payment = SwishPayment.objects.get()
    assert payment.swish_reads == 1 and not payment.read_queued
    assert payment.reading_until is None


@pytest.mark.django_db(transaction=True)
def test_a_read_swish_could_not_answer_still_ends_its_claim(
    quiet_buyer, event_and_type, forget_reachability, settings, refused_port
):
    """No answer applied (Swish unreachable): the claim ends with an UPDATE
    of its own, and the read is due again on its schedule."""
    event, standard = event_and_type
    token = quiet_buyer.reserved_and_started(event, standard)
    assert quiet_buyer.pay(token).status_code == 200
    scheduler.wait_idle()
    assert _callback(quiet_buyer.base, SwishPayment.objects.get()).status_code == 200
    # Swish cannot be reached (a refused connection): nothing is applied.
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    with _statements() as statements:
        assert reads.read_next() is not None
    assert statements[-1].startswith(
        'UPDATE "payments_swishpayment" SET "reading_until" = NULL'
    )
    payment = SwishPayment.objects.get()
    assert payment.reading_until is None and payment.status == "CREATED"
    assert payment.swish_reads == 1 and payment.next_read_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_read_that_recovers_money_keeps_its_claim_until_the_recovery_is_done(
    quiet_buyer, event_and_type, forget_reachability, monkeypatch
):
    """Money for an order the shop had given up: the answer's record does
    not end the claim; it ends after the recovery (which completes the
    order here), so no other loop reads the payment meanwhile."""
    from ticketshop.payments import settle

    event, standard = event_and_type
    token = quiet_buyer.reserved_and_started(event, standard)
    Order.objects.update(status=OrderStatus.FAILED_ADMIN)  # given up
    assert quiet_buyer.pay(token).status_code == 200
    scheduler.wait_idle()
    assert _callback(quiet_buyer.base, SwishPayment.objects.get()).status_code == 200
    claimed_during_recovery = []
    recover = settle.recover_unaccepted_payment

    def recovering(**kwargs):
        row = SwishPayment.objects.get()
        claimed_during_recovery.append(row.reading_until is not None)
        return recover(**kwargs)

    monkeypatch.setattr(settle, "recover_unaccepted_payment", recovering)

    with _statements() as statements:
        assert reads.read_next() is not None

    assert claimed_during_recovery == [True]
    assert statements[-1].startswith(
        'UPDATE "payments_swishpayment" SET "reading_until" = NULL'
    )
    payment = SwishPayment.objects.get()
    assert payment.status == SwishStatus.PAID and payment.reading_until is None


@pytest.mark.django_db(transaction=True)
def test_callback_503_on_an_unreadable_swish_and_the_read_stays_queued(
    quiet_buyer, event_and_type, settings, refused_port, forget_reachability
):
    settings.BUSY_RETRY_AFTER_SECONDS = 7
    event, standard = event_and_type
    token = quiet_buyer.reserved_and_started(event, standard)
    assert quiet_buyer.pay(token).status_code == 200
    scheduler.wait_idle()
    payment = SwishPayment.objects.get()
    simulator = settings.SWISH_API_URL
    # Swish cannot be reached from now on (a refused connection).
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    assert _callback(quiet_buyer.base, payment).status_code == 200
    run_worker()  # its read fails: "Swish unreachable since"
    assert reads.unreachable_since() is not None
    assert Order.objects.get().status == OrderStatus.RESERVED

    again = _callback(quiet_buyer.base, payment)

    assert again.status_code == 503
    assert again.headers["Retry-After"] == "7"
    assert _queued_reads() == 1  # queued all the same
    # Swish is back: the queued read settles it and clears the mark.
    settings.SWISH_API_URL = simulator
    run_worker()
    assert Order.objects.get().status == OrderStatus.PAID
    assert reads.unreachable_since() is None
    assert _callback(quiet_buyer.base, payment).status_code == 200


@pytest.mark.django_db
def test_callback_503_when_the_database_fails(client, settings):
    settings.BUSY_RETRY_AFTER_SECONDS = 4
    with mock.patch(
        "ticketshop.payments.views.handle_callback",
        side_effect=OperationalError("the database is gone"),
    ):
        response = client.post(
            "/swish/callback/", {"id": "0" * 32}, content_type="application/json"
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "4"


# --- the schedule: after a quiet period, backing off --------------------------


@pytest.fixture
def open_payment(db, post_json):
    event, (standard, _) = event_with_types()
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 1}],
        },
    )
    order = Order.objects.get()
    return _open_request(
        order, "buyer@example.com", next_read_at=reads.first_read_at(timezone.now())
    )


def _open_request(order: Order, email: str, *, next_read_at) -> SwishPayment:
    """The order's payment started: an open Swish request, its first read
    due at ``next_read_at``."""
    Order.objects.filter(pk=order.pk).update(payment_pending=True, email=email)
    return SwishPayment.objects.create(
        order=order,
        request_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        token=new_swish_id(),
        amount=order.total_price,
        status=SwishStatus.CREATED,
        next_read_at=next_read_at,
    )


class FakeSwish:
    """Swish's read of one payment request: CREATED until told otherwise."""

    def __init__(self, payment: SwishPayment) -> None:
        self.payment = payment
        self.status = "CREATED"
        self.reads: list[str] = []
        self.during_read = None

    def read(self, request_id: str) -> dict:
        self.reads.append(request_id)
        if self.during_read is not None:
            self.during_read()
        return {
            "id": request_id,
            "status": self.status,
            "amount": float(self.payment.amount),
            "paymentReference": "A" * 32 if self.status == "PAID" else None,
            "datePaid": "2026-11-26T13:13:43.561+0000"
            if self.status == "PAID"
            else None,
        }


@pytest.fixture
def fake_swish(open_payment, monkeypatch):
    fake = FakeSwish(open_payment)
    monkeypatch.setattr(swish, "read_payment_request", fake.read)
    return fake


def _run_workers(start, seconds: int, *, workers: int = 1) -> list[float]:
    """Every second from ``start``, each worker's read loop claims what is
    due (the clock injected); return the seconds of each read."""
    read_at = []
    for second in range(seconds + 1):
        now = start + timedelta(seconds=second)
        done = [reads.read_next(now=now) for _ in range(workers)]
        assert sum(1 for pk in done if pk is not None) <= 1
        read_at.extend(second for pk in done if pk is not None)
    return read_at


def test_the_first_read_comes_after_a_quiet_period_then_they_back_off(
    settings, open_payment, fake_swish
):
    settings.SWISH_READ_AFTER_SECONDS = 15
    settings.SWISH_READ_MAX_INTERVAL_SECONDS = 120
    created = open_payment.created_at
    first = (open_payment.next_read_at - created).total_seconds()
    assert 15 <= first <= 30

    read_at = _run_workers(created, 500)

    assert 15 <= read_at[0] <= 31
    gaps = [b - a for a, b in zip(read_at, read_at[1:], strict=False)]
    assert gaps == [15, 30, 60, 120, 120, 120]
    assert SwishPayment.objects.get().swish_reads == len(read_at) == 7


def test_a_request_is_read_at_most_once_a_second_whatever_the_settings(
    settings, open_payment, fake_swish
):
    settings.SWISH_READ_AFTER_SECONDS = 0
    settings.SWISH_READ_MAX_INTERVAL_SECONDS = 0
    now = open_payment.next_read_at
    assert reads.read_next(now=now) == open_payment.pk
    assert reads.read_next(now=now + timedelta(seconds=0.9)) is None
    assert reads.read_next(now=now + timedelta(seconds=1)) == open_payment.pk
    assert len(fake_swish.reads) == 2


def test_a_callback_makes_the_read_due_at_once_and_a_final_answer_ends_them(
    settings, open_payment, fake_swish
):
    settings.SWISH_READ_AFTER_SECONDS = 15
    created = open_payment.created_at
    assert _run_workers(created, 5) == []  # quiet: nothing read yet
    now = created + timedelta(seconds=5)
    fake_swish.status = "PAID"

    assert reads.note_callback(payment=open_payment, now=now)
    assert not reads.note_callback(payment=open_payment, now=now)  # once
    assert reads.read_payment(payment_pk=open_payment.pk, now=now) == "read"

    assert Order.objects.get().status == OrderStatus.PAID
    assert _run_workers(now, 600) == []  # final: never read again
    assert fake_swish.reads == [open_payment.request_id]


def test_a_second_callback_never_makes_a_starting_read_not_due(
    open_payment, fake_swish
):
    """Two callbacks (Swish sends them twice): the read the first queued
    took its clock just before the second arrived, and still reads."""
    t0 = open_payment.created_at + timedelta(seconds=2)
    assert reads.note_callback(payment=open_payment, now=t0)
    assert not reads.note_callback(payment=open_payment, now=t0 + timedelta(seconds=2))
    assert (
        reads.read_payment(payment_pk=open_payment.pk, now=t0 + timedelta(seconds=1))
        == "read"
    )


def test_two_workers_never_read_the_same_payment_twice_in_one_slot(
    settings, open_payment, fake_swish
):
    settings.SWISH_READ_AFTER_SECONDS = 15
    created = open_payment.created_at
    # Two workers scan every second: each due read is queued once.
    read_at = _run_workers(created, 200, workers=2)
    assert len(read_at) == len(fake_swish.reads) == 4

    # A second worker runs a read while the first is still reading it (a
    # callback's task and the schedule's, say): it leaves it to the first.
    now = created + timedelta(seconds=1000)
    SwishPayment.objects.update(next_read_at=now)
    second = []
    fake_swish.during_read = lambda: (
        fake_swish.__setattr__("during_read", None),
        second.append(reads.read_payment(payment_pk=open_payment.pk, now=now)),
    )
    assert reads.read_payment(payment_pk=open_payment.pk, now=now) == "read"
    assert second == ["reading elsewhere"]
    assert len(fake_swish.reads) == 5


def test_a_worker_that_dies_mid_read_leaves_the_payment_due_again(
    settings, open_payment, fake_swish
):
    settings.SWISH_READ_AFTER_SECONDS = 15
    now = open_payment.next_read_at

    def die():
        raise SystemExit("killed")

    fake_swish.during_read = die
    with pytest.raises(SystemExit):
        reads.read_next(now=now)
    fake_swish.during_read = None
    assert reads.read_next(now=now) is None  # claimed: not read twice
    # Its claim lapses with the lease; the next slot is read as usual.
    later = now + timedelta(seconds=15)
    SwishPayment.objects.update(reading_until=now + timedelta(seconds=1))
    assert reads.read_next(now=later) == open_payment.pk
    assert len(fake_swish.reads) == 2


def test_a_loop_skips_a_payment_another_loop_is_reading(
    settings, open_payment, fake_swish
):
    now = open_payment.next_read_at
    during = []
    fake_swish.during_read = lambda: (
        fake_swish.__setattr__("during_read", None),
        during.append(reads.read_next(now=now)),
        # A callback while it is read: read again once this read ends.
        during.append(reads.note_callback(payment=open_payment, now=now)),
        during.append(reads.read_next(now=now)),
    )
    assert reads.read_next(now=now) == open_payment.pk
    assert during == [None, True, None]
    assert reads.read_next(now=now) == open_payment.pk
    assert len(fake_swish.reads) == 2


def _another_open_payment(open_payment, *, next_read_at) -> SwishPayment:
    """A second buyer's open request on the same event."""
    order = reserve_tickets(
        event_id=open_payment.order.event_id,
        lines=[
            TicketLine(
                ticket_type_id=open_payment.order.tickets.first().ticket_type_id,
                count=1,
            )
        ],
    )
    return _open_request(order, "second@example.com", next_read_at=next_read_at)


def test_a_callbacks_read_goes_before_scheduled_reads_due_longer(
    open_payment, fake_swish
):
    """In a rush the loops fall behind: a callback's read (Swish has news, a
    buyer's page waits) is claimed before scheduled reads due longer (the
    backup, which usually finds the request still open)."""
    now = open_payment.next_read_at + timedelta(seconds=30)
    called_back = _another_open_payment(open_payment, next_read_at=now)
    assert reads.note_callback(payment=called_back, now=now)
    # open_payment's scheduled read has been due for 30 s.
    assert reads.claim_next(now=now).pk == called_back.pk
    assert reads.claim_next(now=now).pk == open_payment.pk
    assert reads.claim_next(now=now) is None


@pytest.mark.django_db(transaction=True)
def test_run_workers_read_loop_reads_what_is_due(open_payment, fake_swish):
    """The loop reads a due payment and stops when told (here: during the
    read it does)."""
    stop = threading.Event()
    fake_swish.during_read = stop.set
    SwishPayment.objects.update(next_read_at=timezone.now())
    reads.run_reads(stop=stop, idle_seconds=0.01)
    assert fake_swish.reads == [open_payment.request_id]
    payment = SwishPayment.objects.get()
    assert payment.swish_reads == 1 and payment.reading_until is None


def test_only_a_callback_makes_a_payment_the_shop_ended_readable(
    settings, open_payment, fake_swish
):
    """A request the shop recorded as ended (cancelled, declined) is read
    again only when Swish calls back about it (money after a release is
    never dropped); an open one too old for its schedule likewise."""
    now = timezone.now()
    SwishPayment.objects.update(status=SwishStatus.CANCELLED, next_read_at=now)
    assert reads.read_next(now=now) is None
    reads.note_callback(payment=open_payment, now=now)
    assert reads.read_next(now=now) == open_payment.pk

    later = now + timedelta(seconds=settings.SWISH_PENDING_TIMEOUT_SECONDS + 60)
    SwishPayment.objects.update(status=SwishStatus.CREATED, next_read_at=now)
    assert reads.read_next(now=later) is None
    reads.note_callback(payment=open_payment, now=later)
    assert reads.read_next(now=later) == open_payment.pk
    assert len(fake_swish.reads) == 2


# --- the bound on Swish calls: below the app server's threads -----------------


def test_the_bound_is_derived_from_the_app_servers_threads(settings):
    settings.SWISH_MAX_IN_FLIGHT = 0
    settings.GUNICORN_THREADS = 4
    assert swish.max_in_flight() == 3
    settings.GUNICORN_THREADS = 1
    assert swish.max_in_flight() == 1
    settings.GUNICORN_THREADS = 8
    settings.SWISH_MAX_IN_FLIGHT = 2  # an optional lower cap
    assert swish.max_in_flight() == 2
    settings.SWISH_MAX_IN_FLIGHT = 20  # never above the derived bound
    assert swish.max_in_flight() == 7


def _take_a_slot_in_a_thread() -> tuple[threading.Thread, list]:
    """Start a thread that takes a Swish slot: (the thread, the list it
    appends "held" or the SwishBusy to)."""
    seen = []

    def take():
        try:
            with swish.swish_slot():
                seen.append("held")
        except swish.SwishBusy as exc:
            seen.append(exc)

    thread = threading.Thread(target=take)
    thread.start()
    return thread, seen


def _second_slot() -> object:
    """Take a Swish slot in another thread while this one holds one."""
    thread, seen = _take_a_slot_in_a_thread()
    thread.join()
    return seen[0]


def test_a_task_worker_is_not_bound_by_the_request_threads_bound(settings):
    """run_worker serves no requests: its reads are never refused "Busy"
    (a refused read would wait for the next scheduled one)."""
    settings.SWISH_MAX_IN_FLIGHT = 0
    settings.GUNICORN_THREADS = 2  # a bound of 1 call in flight
    settings.SWISH_SLOT_WAIT_SECONDS = 0  # Busy at once, no waiting
    with swish.swish_slot():
        assert isinstance(_second_slot(), swish.SwishBusy)
    swish.slots.bounded = False  # what run_worker sets
    try:
        with swish.swish_slot():
            assert _second_slot() == "held"
    finally:
        swish.slots.bounded = True


def test_with_every_slot_taken_a_call_waits_while_swish_keeps_pace(settings):
    """A fast Swish in a rush: the call waits for the slot that frees,
    rather than answering Busy (and a Retry-After) at once."""
    settings.SWISH_MAX_IN_FLIGHT = 0
    settings.GUNICORN_THREADS = 2  # a bound of 1 call in flight
    settings.SWISH_SLOT_WAIT_SECONDS = 60
    waiting = threading.Event()
    freed = swish.slots._freed
    real_wait = freed.wait

    def wait(timeout=None):
        waiting.set()
        return real_wait(timeout)

    freed.wait = wait
    try:
        with swish.swish_slot():
            thread, seen = _take_a_slot_in_a_thread()
            assert waiting.wait(10)  # the second call waits for this slot
        thread.join(10)
    finally:
        del freed.wait
    assert seen == ["held"]
    assert swish.slots.in_flight == 0


def test_a_call_is_busy_at_once_when_the_calls_in_flight_are_slow(
    settings, monkeypatch
):
    """Once a call in flight has run longer than the wait, Swish is slow:
    no waiting, Busy at once (the free thread is not held by waiters)."""
    settings.SWISH_MAX_IN_FLIGHT = 0
    settings.GUNICORN_THREADS = 2
    settings.SWISH_SLOT_WAIT_SECONDS = 1
    clock = [1000.0]
    monkeypatch.setattr(swish.time, "monotonic", lambda: clock[0])

    def never_wait(timeout=None):
        raise AssertionError("waited for a slot behind a slow call")

    monkeypatch.setattr(swish.slots._freed, "wait", never_wait, raising=False)
    with swish.swish_slot():
        clock[0] += 8  # the call in flight has run 8 s: a slow Swish
        assert isinstance(_second_slot(), swish.SwishBusy)
    assert swish.slots.in_flight == 0


@pytest.mark.django_db(transaction=True)
def test_with_four_threads_the_fourth_payment_start_is_busy(
    buyer, event_and_type, settings
):
    settings.GUNICORN_THREADS = 4
    settings.SWISH_MAX_IN_FLIGHT = 0
    settings.BUSY_RETRY_AFTER_SECONDS = 3
    event, standard = event_and_type
    assert buyer.reserve(event, standard).status_code == 201
    held, release = threading.Barrier(4), threading.Event()

    def slow_swish_call():
        with swish.swish_slot():
            held.wait(10)
            release.wait(20)

    # Three payment starts wait on a slow Swish: three of the four threads.
    threads = [threading.Thread(target=slow_swish_call) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        held.wait(10)
        response = buyer.start_payment()
        assert response.status_code == 503
        assert response.json() == "Busy"
        assert response.headers["Retry-After"] == "3"
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert buyer.start_payment().status_code == 200


# --- /healthz and the door never touch Swish -----------------------------------


@pytest.mark.django_db
def test_healthz_and_door_scanning_never_touch_swish(client, monkeypatch, settings):
    from tests.scanning.factories import (
        SCANNER_PASSWORD,
        ScannerAccountFactory,
        paid_ticket,
    )

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    touched = []

    def no_swish(*args, **kwargs):
        touched.append(args)
        raise swish.SwishUnavailable("Swish must not be called here")

    monkeypatch.setattr(swish, "_call", no_swish)
    monkeypatch.setattr(swish, "get_session", no_swish)
    ScannerAccountFactory()
    ticket = paid_ticket()

    assert client.get("/healthz?scope=web").status_code == 200
    client.get("/healthz")  # the worker part may be stale; never Swish
    scanned = client.put(
        "/validate_ticket/",
        {
            "external_id": ticket.external_id,
            "password": SCANNER_PASSWORD,
            "use_ticket": True,
        },
        content_type="application/json",
    )
    assert scanned.status_code == 200, scanned.content
    assert touched == []
