"""A row per named job or slot that the processes of one shop take turns at."""

from django.db import models


class Lease(models.Model):
    """A periodic job that any worker may run, but only one per period, or a
    slot that only one process holds at a time.

    ``leases.services.take_turn`` claims it with one conditional UPDATE, so
    on PostgreSQL and SQLite alike exactly one process wins each period. The
    table keeps the name it had when operations owned it (``ops_lease``).
    """

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    holder = models.CharField(max_length=128, blank=True)

    class Meta:
        db_table = "ops_lease"

    def __str__(self) -> str:
        return self.name
