"""Rows the processes of one shop share: worker heartbeats (run leases are
``ticketshop.leases``)."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one task worker (``manage.py run_worker``)."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.hostname} (pid {self.pid})"
