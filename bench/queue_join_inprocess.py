"""Joining the fair release's queue, in one process: what one join costs.

Builds a fresh SQLite database (or the empty PostgreSQL database of
DATABASE_URL), a queued event whose window is open, then answers N joins
(POST /api/queue/join/ through Django's test client, one handler as in a
server process, each join a new browser session with its own address and
client address) and reports the wall time per join (median, p90) and the
statements per join.

    .venv/bin/python bench/queue_join_inprocess.py 1000
"""

import json
import os
import statistics
import sys
import time
from datetime import timedelta

# Sets Django up (fresh database) before Django's modules are imported.
from queue_inprocess import queued_event

# isort: split
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

joins = int(sys.argv[1])
event, _, _ = queued_event(window_closes_in=timedelta(hours=1), max_checking_out=10)
# One client (one handler, as in a server process); each join starts a new
# session (no cookie) from another client address (the rate limit's key).
client = Client()


def join(n: int):
    client.cookies.clear()
    return client.post(
        "/api/queue/join/",
        data=json.dumps(
            {"chapter_event": event.pk, "email": f"b{n}@example.org", "tickets": 1}
        ),
        content_type="application/json",
        REMOTE_ADDR=f"10.{n // 62500}.{n // 250 % 250}.{n % 250 + 1}",
    )


assert join(-1).status_code == 201  # warm up
times, queries = [], 0
for n in range(joins):
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = join(n)
        times.append((time.perf_counter() - start) * 1000)
    assert response.status_code == 201, response.content
    queries += len(captured.captured_queries)
times.sort()
print(
    f"{connection.vendor}: {joins} joins: median {statistics.median(times):.2f} ms,"
    f" p90 {times[int(len(times) * 0.9)]:.2f} ms,"
    f" statements/join {queries / joins:.1f};"
    f" load average {os.getloadavg()[0]:.1f}"
)
