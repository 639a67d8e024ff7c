"""Where a reservation's time goes, statement by statement, in one process.

Calls ``reserve_tickets`` N times (after 20 warm-ups) on a fresh database,
as ``bench/reserve_inprocess.py`` does, and times every statement the
reservation sends (an ``execute_wrapper``) and its commit. Prints, per
reservation: statements (round trips) and their wall time by kind, and the
time from the start of the statement that takes the seat lock (or, on
PostgreSQL, the event's seat counter) to the end of the commit (what a
competing reservation waits for: the lock is held until the commit).
One process, no competitor, so no time is lock waiting.

    .venv/bin/python bench/reserve_profile.py SRC_DIR N [DEAD]

SRC_DIR is the ``src`` folder of the version to measure (e.g. a worktree of
an older commit), so the same script measures both. DATABASE_URL as for
the shop (SQLite in a temporary folder by default).
"""

import time
from collections import defaultdict

from inprocess import setup

bench = setup()
src, n, dead, reserve = bench.src, bench.n, bench.dead, bench.reserve

from django.db import connection  # noqa: E402


def kind(sql: str) -> str:
    text = sql.upper()
    if '"ORDERS_SEATCOUNTER"' in text and "INSERT INTO" in text:
        return "lock counter + insert"  # PostgreSQL's seat counter (issue 12)
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
