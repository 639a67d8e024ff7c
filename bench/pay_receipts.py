"""What the receipt costs the paying transaction: ``lifecycle.pay`` (with
the order's lock) timed with the books' receipt on and off, alternately.

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL
database of DATABASE_URL, which must be empty), one event, and reserves
N orders of 2 tickets per round. Each round pays its orders from THREADS
threads at once, first with the receipt (``order_paid`` connected, as in
the shop), then without (disconnected), for ROUNDS rounds.

    .venv/bin/python bench/pay_receipts.py N THREADS ROUNDS
"""

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from benchlib import bench_event, setup_django_in_process

setup_django_in_process()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from ticketshop.books.receivers import on_order_paid  # noqa: E402
from ticketshop.events.models import TicketOffer, TicketType  # noqa: E402
from ticketshop.orders import lifecycle  # noqa: E402
from ticketshop.orders.services import TicketLine, reserve_tickets  # noqa: E402
from ticketshop.orders.signals import order_paid  # noqa: E402

n, threads, rounds = (int(a) for a in sys.argv[1:4])
call_command("migrate", verbosity=0)
now = timezone.now()
event = bench_event(now, seats=10**7, reservation_minutes=60)
ticket_type = TicketType.objects.create(title="T", price=Decimal("100"), visible=True)
TicketOffer.objects.create(event=event, ticket_type=ticket_type)


def pay(order_id: int) -> float:
    start = time.perf_counter()
    with transaction.atomic(durable=True):
        order = lifecycle.lock_order(order_id)
        paid_at = timezone.now()
        lifecycle.pay(order, reference="R", paid_at=paid_at, now=paid_at)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def one_round(with_receipt: bool) -> tuple[float, float]:
    orders = [
        reserve_tickets(event_id=event.id, lines=[TicketLine(ticket_type.id, 2)]).pk
        for _ in range(n)
    ]
    if with_receipt:
        order_paid.connect(on_order_paid, dispatch_uid="books.receipt")
    else:
        order_paid.disconnect(dispatch_uid="books.receipt")
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        times = list(pool.map(pay, orders))
    wall = time.perf_counter() - start
    return statistics.median(times) * 1000, n / wall


results = {True: [], False: []}
for _ in range(rounds):
    for with_receipt in (True, False):
        results[with_receipt].append(one_round(with_receipt))
order_paid.connect(on_order_paid, dispatch_uid="books.receipt")
print(f"{connection.vendor}, {n} orders x {rounds} rounds, {threads} threads")
for with_receipt, rows in results.items():
    medians = [m for m, _ in rows]
    rates = [r for _, r in rows]
    print(
        f"  receipt {'on ' if with_receipt else 'off'}: pay median "
        f"{statistics.median(medians):.2f} ms (rounds {min(medians):.2f}–"
        f"{max(medians):.2f}), {statistics.median(rates):.0f} payments/s"
    )
print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
