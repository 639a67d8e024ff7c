"""Rows the processes of one shop share: worker heartbeats and run leases."""

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


class Lease(models.Model):
    """A periodic job that any worker may run, but only one per period.

    ``ops.leases.take_turn`` claims it with one conditional UPDATE, so on
    PostgreSQL and SQLite alike exactly one process wins each period.
    """

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    holder = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return self.name
