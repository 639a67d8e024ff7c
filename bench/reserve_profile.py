"""Where a reservation's time goes, statement by statement, in one process.

Calls ``reserve_tickets`` N times (after 20 warm-ups) on a fresh database,
as ``bench/reserve_inprocess.py`` does, and times every statement the
reservation sends (an ``execute_wrapper``) and its commit. Prints, per
reservation: statements (round trips) and their wall time by kind, and the
time from the start of the statement that takes the seat lock to the end of
the commit (what a competing reservation waits for: the lock is held until
the commit). One process, no competitor, so no time is lock waiting.

    .venv/bin/python bench/reserve_profile.py SRC_DIR N [DEAD]

SRC_DIR is the ``src`` folder of the version to measure (e.g. a worktree of
an older commit), so the same script measures both. DATABASE_URL as for
the shop (SQLite in a temporary folder by default).
"""

import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

src, n = sys.argv[1], int(sys.argv[2])
dead = int(sys.argv[3]) if len(sys.argv) > 3 else 0
sys.path.insert(0, src)
os.environ["TICKETSHOP_VAR_DIR"] = tempfile.mkdtemp()
os.environ["DJANGO_SETTINGS_MODULE"] = "ticketshop.settings"
os.environ.setdefault("DJANGO_SECRET_KEY", "x" * 60)
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType  # noqa: E402
from ticketshop.orders.models import Order  # noqa: E402
from ticketshop.orders.services import TicketLine, reserve_tickets  # noqa: E402

call_command("migrate", verbosity=0)
now = timezone.now()
event = ChapterEvent.objects.create(
    title="E",
    event_at=now + timedelta(days=9),
    sales_stop_at=now + timedelta(days=8),
    seats=10**7,
    max_tickets_per_payment=8,
    reservation_minutes=15,
    swish_message="x",
)
ticket_type = TicketType.objects.create(title="T", price=Decimal("100"), visible=True)
TicketOffer.objects.create(event=event, ticket_type=ticket_type)
if dead:
    past = now - timedelta(hours=1)
    Order.objects.bulk_create(
        [
            Order(
                token=f"dead{i}",
                reference=f"dead{i}",
                event=event,
                status="RESERVED" if i % 2 else "FAILED_EXPIRED_RESERVATION",
                total_price=Decimal("100"),
                expires_at=past,
                ticket_count=1,
            )
            for i in range(dead)
        ],
        batch_size=2000,
    )


class Session(dict):
    def set_expiry(self, value):
        pass


def kind(sql: str) -> str:
    text = sql.upper()
    if "FOR NO KEY UPDATE" in text or "FOR UPDATE" in text:
        return "lock + count + insert" if "INSERT" in text else "lock"
    if text.startswith("UPDATE"):
        return "sweep"
    if text.startswith("INSERT") or text.startswith("WITH NEW_ORDER"):
        return "insert"
    if "SUM(" in text:
        return "count"
    if "EVENTS_TICKETOFFER" in text:
        return "offers read"
    if "SAVEPOINT" in text:
        return "savepoint"
    return "other"


times: dict[str, float] = defaultdict(float)
counts: dict[str, int] = defaultdict(int)
state = {"lock_started": None, "held": 0.0, "recording": False}


def wrapper(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        if state["recording"]:
            name = kind(sql)
            times[name] += time.perf_counter() - started
            counts[name] += 1
            if name.startswith("lock") and state["lock_started"] is None:
                state["lock_started"] = started


commit = connection._commit


def timed_commit():
    started = time.perf_counter()
    try:
        return commit()
    finally:
        if state["recording"]:
            times["commit"] += time.perf_counter() - started
            counts["commit"] += 1
            if state["lock_started"] is not None:
                state["held"] += time.perf_counter() - state["lock_started"]
                state["lock_started"] = None


connection._commit = timed_commit


def reserve():
    reserve_tickets(
        session=Session(), event_id=event.id, lines=[TicketLine(ticket_type.id, 2)]
    )


with connection.execute_wrapper(wrapper):
    for _ in range(20):
        reserve()
    state["recording"] = True
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        reserve()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

print(f"{src} on {connection.vendor}, dead orders {dead}, {n} reservations")
print(f"  wall per reservation {wall / n * 1000:.3f} ms, CPU {cpu / n * 1000:.3f} ms")
held = state["held"] / n * 1000
print(f"  seat lock held (lock statement start to commit end) {held:.3f} ms")
print(f"  round trips per reservation {sum(counts.values()) / n:.2f}")
for name in sorted(times, key=lambda k: -times[k]):
    print(
        f"    {name:24} {counts[name] / n:5.2f} per res."
        f"  {times[name] / n * 1000:.3f} ms"
    )
