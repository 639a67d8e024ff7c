"""CPU per reservation with and without the event's live holds, in one
process and one database of the same size: the LIVE orders of other buyers
are switched between live (reserved, not lapsed) and recorded as expired,
rounds alternating, so that only whether they hold seats differs (not the
size of the tables, not the process, hardly the machine's load).

    .venv/bin/python bench/reserve_holds_toggle.py SRC_DIR N 0 LIVE [ROUNDS]

Each round times N reservations of 2 tickets (after 20 warm-ups) with the
holds expired, then N with them live. After each switch the event's seat
counter (where the code has one) is made unknown, as after a restore, so
the first reservation counts once and sets it exact, as in production.
"""

import statistics
import sys
import time

from inprocess import setup

bench = setup()
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5

from django.db import transaction  # noqa: E402

from ticketshop.events.models import ChapterEvent  # noqa: E402
from ticketshop.orders.models import Order  # noqa: E402

event = ChapterEvent.objects.get(title="E")
# The prefilled holds are the orders without tickets.
holds = Order.objects.filter(event=event, tickets__isnull=True)
ids = list(holds.values_list("pk", flat=True))
assert len(ids) == bench.live, (len(ids), bench.live)


def switch(live: bool) -> None:
    with transaction.atomic():
        Order.objects.filter(pk__in=ids).update(
            status="RESERVED" if live else "FAILED_EXPIRED_RESERVATION"
        )
        try:
            from ticketshop.orders.models import SeatCounter
        except ImportError:
            return
        SeatCounter.objects.filter(event=event).update(held=None)


def timed() -> float:
    for _ in range(20):
        bench.reserve()
    cpu = time.process_time()
    for _ in range(bench.n):
        bench.reserve()
    return (time.process_time() - cpu) / bench.n * 1000


figures: dict[bool, list[float]] = {False: [], True: []}
for _ in range(rounds):
    for live in (False, True):
        switch(live)
        figures[live].append(timed())
for live in (False, True):
    ms = figures[live]
    print(
        f"{bench.src}: {bench.live if live else 0} live holds:"
        f" cpu/res median {statistics.median(ms):.3f} ms"
        f" ({', '.join(f'{m:.3f}' for m in ms)})"
    )
