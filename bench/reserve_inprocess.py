"""CPU per reservation, in one process: reserve_tickets called N times.

Takes HTTP, gunicorn and most of the machine's load out of the figure, so
that two versions of the reservation path can be compared on a busy
machine. Builds a fresh database (SQLite in a temporary folder, or the
PostgreSQL database of DATABASE_URL, which must be empty), an event with a
very large number of seats, optionally N dead orders (half recorded as
expired, half still reserved with their hold lapsed, as code from before the
sweep leaves them), warms up with 20 reservations, then times N more.

    .venv/bin/python bench/reserve_inprocess.py SRC_DIR N [DEAD]

SRC_DIR is the `src` folder of the version to measure (e.g. a worktree of an
older commit), so the same script measures both.
"""

import os
import secrets
import sys
import tempfile
import time
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
                token=secrets.token_urlsafe(20),
                reference=secrets.token_hex(5),
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


def reserve():
    reserve_tickets(
        session=Session(), event_id=event.id, lines=[TicketLine(ticket_type.id, 2)]
    )


for _ in range(20):
    reserve()
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(n):
    reserve()
print(
    f"{src}: dead={dead} cpu/res={(time.process_time() - cpu) / n * 1000:.3f} ms"
    f" wall/res={(time.perf_counter() - wall) / n * 1000:.3f} ms"
)
