"""The waiting list's hook on an event without a waiting list: CPU per
freeing transaction (a reserve, then its cancellation) with the waiting
list's receiver of ``seats_came_back`` connected and disconnected, in
alternating rounds in one process (a fresh SQLite database).

    .venv/bin/python bench/waitlist_hook.py SRC_DIR N [ROUNDS]
"""

import sys
import time

sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], *sys.argv[3:]]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
sys.argv = sys.argv[:3]

from inprocess import setup  # noqa: E402

bench = setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from ticketshop.orders import lifecycle  # noqa: E402
from ticketshop.orders.models import Order  # noqa: E402
from ticketshop.orders.signals import seats_came_back  # noqa: E402
from ticketshop.waitlist import receivers  # noqa: E402


def cancel_one() -> None:
    bench.reserve()
    pk = Order.objects.order_by("-pk").values_list("pk", flat=True).first()
    with transaction.atomic(durable=True):
        lifecycle.cancel(lifecycle.lock_order(pk), now=timezone.now())


def timed(n: int) -> float:
    cpu = time.process_time()
    for _ in range(n):
        cancel_one()
    return (time.process_time() - cpu) / n * 1000


for _ in range(20):
    cancel_one()
results = {"with hook": [], "without hook": []}
for _ in range(rounds):
    results["with hook"].append(timed(bench.n))
    seats_came_back.disconnect(dispatch_uid="waitlist.seats_came_back")
    results["without hook"].append(timed(bench.n))
    receivers.connect()
for name, values in results.items():
    shown = " ".join(f"{v:.3f}" for v in values)
    print(f"{name}: cpu per reserve+cancel {min(values):.3f} ms (rounds: {shown})")
