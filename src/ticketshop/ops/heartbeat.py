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
