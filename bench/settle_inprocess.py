"""What settling one paid Swish payment costs, in one process.

Builds a fresh database (SQLite in a temporary folder, or the empty
PostgreSQL database of DATABASE_URL), one event, and N reserved orders of
2 tickets, each with a payment request Swish has taken (CREATED). Then it
applies Swish's PAID answer to each (``settle.apply_payment_object``, as a
read loop does after reading Swish: the payment's record, the order paid,
the ticket e-mail scheduled, the receipt issued) one after the other, and
reports the CPU time and the wall time per settlement and the statements
per settlement. PROFILE=1 adds a cProfile of 100 more, by internal time.

    .venv/bin/python bench/settle_inprocess.py 300
"""

import os
import statistics
import sys
import time
from decimal import Decimal

from benchlib import bench_event, setup_django_in_process

setup_django_in_process()

# isort: split
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from ticketshop.events.models import TicketOffer, TicketType  # noqa: E402
from ticketshop.orders import lifecycle  # noqa: E402
from ticketshop.orders.services import TicketLine, reserve_tickets  # noqa: E402
from ticketshop.payments import settle  # noqa: E402
from ticketshop.payments.machines import PAYMENT, create_payment, move  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
call_command("migrate", verbosity=0)
now = timezone.now()
event = bench_event(now, seats=10**7, reservation_minutes=60)
ticket_type = TicketType.objects.create(title="T", price=Decimal("100"), visible=True)
TicketOffer.objects.create(event=event, ticket_type=ticket_type)


def payment_taken(number: int) -> tuple[int, int, dict]:
    """A reserved order whose payment Swish has taken, and Swish's PAID."""
    order = reserve_tickets(event_id=event.id, lines=[TicketLine(ticket_type.id, 2)])
    with transaction.atomic():
        order = lifecycle.lock_order(order.pk)
        lifecycle.start_payment(order, email=f"b{number}@example.org", now=now)
        payment = create_payment(
            order=order,
            request_id=f"{number:032X}",
            callback_identifier=f"cb{number}",
            amount=order.total_price,
        )
        move(PAYMENT, payment, "created", [])
    paid = {
        "id": payment.request_id,
        "payeePaymentReference": order.reference,
        "paymentReference": f"R{number:031d}",
        "payeeAlias": settings.SWISH_PAYEE_ALIAS,
        "amount": str(order.total_price),
        "currency": "SEK",
        "status": "PAID",
        "datePaid": now.isoformat(),
    }
    return payment.pk, order.pk, paid


def settle_all(payments) -> list[float]:
    times = []
    for payment_id, order_id, paid in payments:
        start = time.perf_counter()
        settle.apply_payment_object(
            payment_id=payment_id, obj=paid, now=timezone.now(), order_id=order_id
        )
        times.append((time.perf_counter() - start) * 1000)
    return times


settle_all([payment_taken(number) for number in range(20)])  # warm-up
payments = [payment_taken(number) for number in range(20, 20 + n)]
cpu = time.process_time()
with CaptureQueriesContext(connection) as captured:
    times = settle_all(payments)
cpu = (time.process_time() - cpu) * 1000 / n
statements = sum(
    q["sql"] not in ("BEGIN", "COMMIT", "ROLLBACK") for q in captured.captured_queries
)
if os.environ.get("PROFILE"):
    import cProfile

    more = [payment_taken(number) for number in range(20 + n, 120 + n)]
    cProfile.run("settle_all(more)", sort="tottime")
times.sort()
print(
    f"{connection.vendor}: {n} settlements: CPU {cpu:.2f} ms each,"
    f" wall median {statistics.median(times):.2f} ms,"
    f" p99 {times[int(len(times) * 0.99) - 1]:.2f} ms,"
    f" statements {statements / n:.1f} each;"
    f" load average {os.getloadavg()[0]:.1f}"
)
