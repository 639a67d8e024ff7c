from django.db import models


class RateCounter(models.Model):
    """One client's count in its current window (see ticketshop.security.ratelimit).

    Written only by the one-statement upsert in ratelimit.py, so that
    concurrent requests on any number of processes never lose a count.
    Times are Unix seconds.
    """

    name = models.CharField(primary_key=True, max_length=200)
    window_start = models.FloatField()
    window_end = models.FloatField(db_index=True)
    hits = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.hits}"
