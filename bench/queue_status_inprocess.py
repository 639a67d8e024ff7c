"""The queue's status poll, in one process: what one poll costs.

Builds a fresh SQLite database (or the empty PostgreSQL database of
DATABASE_URL), a queued event with ENTRIES entries drawn and the first tenth
admitted, then answers N status polls (GET /api/queue/status/ through
Django's test client, each as a different entry's session) and reports the
wall time per poll (median, p99), the queries per poll and the writes
(INSERT, UPDATE, DELETE) per poll.

    .venv/bin/python bench/queue_status_inprocess.py 5000 2000
"""

import os
import statistics
import sys
import time
from datetime import timedelta

# Sets Django up (fresh database) before Django's modules are imported.
from queue_inprocess import queued_event

# isort: split
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ticketshop.release import services

entries, polls = int(sys.argv[1]), int(sys.argv[2])
event, release, now = queued_event(
    window_closes_in=timedelta(seconds=1), max_checking_out=entries // 10
)
# One client (one handler, as in a server process); each poll carries
# another entry's session cookie.
client = Client()
cookies = []
for n in range(entries):
    client.cookies.clear()
    session = client.session
    session["queue_token"] = f"token-{n}"
    session.save()
    cookies.append(session.session_key)
    services.join(
        event_id=event.pk,
        session_token=f"token-{n}",
        email=f"b{n}@example.org",
        tickets_wanted=1,
        now=now,
    )
later = now + timedelta(seconds=2)
services.draw(release.pk, now=later)
services.admit(release.pk, now=later)

url = f"/api/queue/status/?chapter_event={event.pk}"
times, queries, writes = [], 0, 0
for i in range(polls):
    client.cookies[settings.SESSION_COOKIE_NAME] = cookies[i % entries]
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    assert response.status_code == 200, response.content
    queries += len(captured.captured_queries)
    writes += sum(
        q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        for q in captured.captured_queries
    )
if os.environ.get("PROFILE"):
    import cProfile

    cProfile.run("for _ in range(200): client.get(url)", sort="cumtime")
times.sort()
print(
    f"{connection.vendor}: {entries} entries, {polls} polls:"
    f" median {statistics.median(times):.2f} ms,"
    f" p99 {times[int(len(times) * 0.99) - 1]:.2f} ms,"
    f" queries/poll {queries / polls:.2f}, writes/poll {writes / polls:.2f};"
    f" load average {os.getloadavg()[0]:.1f}"
)
