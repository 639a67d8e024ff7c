"""The buyer's payment status poll, in one process: what one poll costs.

Builds a fresh SQLite database (or the empty PostgreSQL database of
DATABASE_URL), one event with a standard and a reduced ticket type, a
reservation of two tickets made through the API, then answers N polls of
GET /session_payment_status/ (what the pay page asks every few seconds
while a payment runs) through Django's test client, and reports the CPU
time per poll, the wall time (median, p99) and the queries per poll.

    .venv/bin/python bench/payment_status_inprocess.py 2000
    # another checkout's code (its src folder first on the path):
    PYTHONPATH=/tmp/before/src .venv/bin/python bench/payment_status_inprocess.py 2000
"""

import os
import statistics
import sys
import time

from benchlib import bench_event, setup_django_in_process

setup_django_in_process()

# isort: split
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from ticketshop.events.models import TicketOffer, TicketType  # noqa: E402

polls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
settings.ALLOWED_HOSTS = ["*"]
call_command("migrate", verbosity=0)
event = bench_event(timezone.now(), seats=300)
types = []
for key, price in (("standard", "150"), ("reduced", "99")):
    ticket_type = TicketType.objects.create(title=key, price=price)
    TicketOffer.objects.create(event=event, ticket_type=ticket_type)
    types.append(ticket_type)
client = Client()
response = client.post(
    "/reserve_ticket/",
    {
        "chapter_event": event.pk,
        "tickets": [{"ticket_type": t.pk, "count": 1} for t in types],
    },
    content_type="application/json",
)
assert response.status_code == 201, response.content
for _ in range(50):  # warm-up
    client.get("/session_payment_status/")

times, queries = [], 0
cpu = time.process_time()
for _ in range(polls):
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get("/session_payment_status/")
        times.append((time.perf_counter() - start) * 1000)
    assert response.status_code == 200, response.content
    queries += len(captured.captured_queries)
cpu = (time.process_time() - cpu) * 1000 / polls
if os.environ.get("PROFILE"):
    import cProfile

    cProfile.run(
        "for _ in range(200): client.get('/session_payment_status/')", sort="cumtime"
    )
times.sort()
print(
    f"{connection.vendor}: {polls} polls: CPU {cpu:.2f} ms/poll,"
    f" wall median {statistics.median(times):.2f} ms,"
    f" p99 {times[int(len(times) * 0.99) - 1]:.2f} ms,"
    f" queries/poll {queries / polls:.2f};"
    f" load average {os.getloadavg()[0]:.1f}"
)
