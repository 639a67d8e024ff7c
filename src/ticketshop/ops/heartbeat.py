"""Worker heartbeats: each task worker says it is alive every few seconds."""

import os
import socket
from datetime import datetime, timedelta

from django.utils import timezone

from .models import WorkerHeartbeat

# A worker not seen for this long counts as gone (health check, metrics).
HEARTBEAT_STALE_AFTER = timedelta(minutes=2)


def beat(*, worker_id: str, started_at: datetime, now: datetime | None = None) -> None:
    """Record that this worker is alive."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": now,
        },
    )


def live_workers(*, now: datetime | None = None):
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(seen_at__gte=now - HEARTBEAT_STALE_AFTER)


def forget_old_workers(*, now: datetime | None = None) -> int:
    """Delete heartbeats of workers gone for a day; return how many."""
    now = now or timezone.now()
    deleted, _ = WorkerHeartbeat.objects.filter(
        seen_at__lt=now - timedelta(days=1)
    ).delete()
    return deleted


class WorkerDied(Exception):
    """Recorded on a task whose run_worker stopped beating mid-task."""


def fail_tasks_of_dead_workers(*, now: datetime | None = None) -> int:
    """Mark FAILED the tasks left RUNNING by run_workers that died; return how
    many. Only workers known by their heartbeat are judged (a plain db_worker
    beats none), so a live worker's task is never touched. What the task was
    doing is taken up again by its own means (the e-mail lease)."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    dead = set(
        WorkerHeartbeat.objects.filter(
            seen_at__lt=now - HEARTBEAT_STALE_AFTER
        ).values_list("worker_id", flat=True)
    )
    if not dead:
        return 0
    failed = 0
    for result in DBTaskResult.objects.filter(status="RUNNING"):
        if result.worker_ids and result.worker_ids[-1] in dead:
            result.set_failed(
                WorkerDied(f"worker {result.worker_ids[-1]} stopped mid-task")
            )
            failed += 1
    return failed
