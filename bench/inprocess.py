"""The in-process reservation benchmarks' common set-up (reserve_inprocess.py,
reserve_profile.py): a fresh database for the `src` folder given on the
command line, one event with a very large number of seats, optionally N dead
orders (half recorded as expired, half still reserved with their hold
lapsed, as code from before the sweep leaves them), and ``reserve()``.

    from inprocess import setup
    bench = setup()   # reads SRC_DIR N [DEAD [LIVE]] from sys.argv

Imported before Django is set up: it puts SRC_DIR first on the path, so the
same benchmark measures an older version's code (e.g. a worktree of it).
"""

import inspect
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal


@dataclass
class Bench:
    src: str
    n: int
    dead: int
    reserve: object  # () -> None: one reservation of 2 tickets
    live: int = 0


class Session(dict):
    def set_expiry(self, value):
        pass


def setup() -> Bench:
    src, n = sys.argv[1], int(sys.argv[2])
    dead = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    live = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    sys.path.insert(0, src)
    os.environ["TICKETSHOP_VAR_DIR"] = tempfile.mkdtemp()
    os.environ["DJANGO_SETTINGS_MODULE"] = "ticketshop.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "x" * 60)
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()

    from benchlib import bench_event
    from django.core.management import call_command
    from django.utils import timezone

    from ticketshop.events.models import TicketOffer, TicketType
    from ticketshop.orders.models import Order
    from ticketshop.orders.services import TicketLine, reserve_tickets

    call_command("migrate", verbosity=0)
    now = timezone.now()
    event = bench_event(now, seats=10**7, reservation_minutes=15)
    ticket_type = TicketType.objects.create(
        title="T", price=Decimal("100"), visible=True
    )
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

    if live:
        # Live holds of other buyers: reserved, not lapsed (one ticket each;
        # the seat counts read the orders' ticket counts, not the tickets).
        later = now + timedelta(hours=1)
        Order.objects.bulk_create(
            [
                Order(
                    token=secrets.token_urlsafe(20),
                    reference=secrets.token_hex(5),
                    event=event,
                    status="RESERVED",
                    total_price=Decimal("100"),
                    expires_at=later,
                    ticket_count=1,
                )
                for _ in range(live)
            ],
            batch_size=2000,
        )

    # Older trees took the buyer's session; newer ones the earlier order.
    takes_session = "session" in inspect.signature(reserve_tickets).parameters

    def reserve():
        reserve_tickets(
            event_id=event.id,
            lines=[TicketLine(ticket_type.id, 2)],
            **({"session": Session()} if takes_session else {}),
        )

    return Bench(src=src, n=n, dead=dead, reserve=reserve, live=live)
