"""One run per period across all workers: the lease row decides."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ticketshop.leases.models import Lease
from ticketshop.leases.services import take_turn
from ticketshop.ops.upkeep import tick

MINUTE = timedelta(minutes=1)


@pytest.mark.django_db
def test_one_turn_per_period():
    now = timezone.now()
    assert take_turn("job", every=MINUTE, holder="a", now=now)
    assert not take_turn("job", every=MINUTE, holder="b", now=now)
    assert not take_turn(
        "job", every=MINUTE, holder="b", now=now + timedelta(seconds=30)
    )
    assert take_turn("job", every=MINUTE, holder="b", now=now + MINUTE)
    assert Lease.objects.get(name="job").holder == "b"


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_get_one_turn_between_them():
    winners = []
    barrier = threading.Barrier(8)

    def worker(n):
        try:
            barrier.wait()
            if take_turn("race", every=MINUTE, holder=f"w{n}"):
                winners.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


@pytest.mark.django_db(transaction=True)
def test_upkeep_of_two_workers_reconciles_once_per_period(monkeypatch, settings):
    settings.SWISH_RECONCILE_EVERY_SECONDS = 60
    calls = []
    monkeypatch.setattr(
        "ticketshop.payments.services.reconcile_payments",
        lambda: calls.append(1) or {"paid": 0},
    )
    started = timezone.now()
    first = tick(worker_id="w1", started_at=started)
    second = tick(worker_id="w2", started_at=started)
    again = tick(worker_id="w1", started_at=started)
    assert "reconciled" in first and "requeued" in first
    assert "reconciled" not in second and "requeued" not in second
    assert "reconciled" not in again
    assert calls == [1]
    # a minute later the next worker to look runs it
    Lease.objects.update(last_run_at=timezone.now() - MINUTE)
    assert "reconciled" in tick(worker_id="w2", started_at=started)
    assert calls == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_tasks_left_running_by_a_dead_worker_are_marked_failed():
    from django_tasks_db.models import DBTaskResult

    from ticketshop.delivery.tasks import send_order_tickets
    from ticketshop.ops.heartbeat import beat, fail_tasks_of_dead_workers
    from ticketshop.ops.models import WorkerHeartbeat

    for _ in range(3):
        send_order_tickets.enqueue(1)
    results = list(DBTaskResult.objects.order_by("enqueued_at"))
    for result, worker in zip(
        results, ("dead", "alive", "plain-db-worker"), strict=True
    ):
        DBTaskResult.objects.filter(pk=result.pk).update(
            status="RUNNING", worker_ids=[worker]
        )
    beat(worker_id="dead", started_at=timezone.now())
    beat(worker_id="alive", started_at=timezone.now())
    WorkerHeartbeat.objects.filter(worker_id="dead").update(
        seen_at=timezone.now() - timedelta(minutes=3)
    )

    assert fail_tasks_of_dead_workers() == 1
    states = {
        worker_ids[0]: status
        for worker_ids, status in DBTaskResult.objects.values_list(
            "worker_ids", "status"
        )
    }
    assert states == {
        "dead": "FAILED",
        "alive": "RUNNING",
        "plain-db-worker": "RUNNING",
    }
