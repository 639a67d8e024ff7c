"""CPU per reservation, in one process: reserve_tickets called N times.

Takes HTTP, gunicorn and most of the machine's load out of the figure, so
that two versions of the reservation path can be compared on a busy
machine. Builds a fresh database (SQLite in a temporary folder, or the
PostgreSQL database of DATABASE_URL, which must be empty), an event with a
very large number of seats, optionally N dead orders (half recorded as
expired, half still reserved with their hold lapsed, as code from before the
sweep leaves them), warms up with 20 reservations, then times N more.

    .venv/bin/python bench/reserve_inprocess.py SRC_DIR N [DEAD [LIVE]]

LIVE pre-fills the event with that many live holds of other buyers
(reserved, not lapsed), as a release with a queue leaves it.

SRC_DIR is the `src` folder of the version to measure (e.g. a worktree of an
older commit), so the same script measures both.
"""

import time

from inprocess import setup

bench = setup()
src, n, dead, reserve, live = bench.src, bench.n, bench.dead, bench.reserve, bench.live

for _ in range(20):
    reserve()
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(n):
    reserve()
cpu_ms = (time.process_time() - cpu) / n * 1000
wall_ms = (time.perf_counter() - wall) / n * 1000
print(
    f"{src}: dead={dead} live={live} cpu/res={cpu_ms:.3f} ms wall/res={wall_ms:.3f} ms"
)
