#!/usr/bin/env python3
"""Time the offline door's two server calls: the door list and a sync.

Creates a throw-away SQLite database in a temporary TICKETSHOP_VAR_DIR, one
event with --tickets paid tickets and one scanner account (fast hasher, so
the password check is not what is timed), then through Django's test client:

- POST /scan/door/ (the list a scanner page downloads) --repeat times;
- POST /scan/sync/ with --batch offline scans (each a use of a different
  ticket, signed payloads, as the page sends them) --repeat times, fresh
  keys each time, and once more with the same keys (all duplicates).

Prints medians and maxima (wall and CPU) as JSON. See bench/README.md
("offline_door").

    .venv/bin/python bench/offline_door.py --tickets 2000 --batch 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=10)
    return parser.parse_args(argv)


def setup_django(var_dir: str) -> None:
    os.environ["TICKETSHOP_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def seed(tickets: int):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from ticketshop.events.models import ChapterEvent, TicketType
    from ticketshop.orders.models import Order, OrderStatus, Ticket
    from ticketshop.scanning.models import ScannerAccount

    now = timezone.now()
    event = ChapterEvent.objects.create(
        title="Bench",
        event_at=now + timedelta(hours=2),
        sales_stop_at=now + timedelta(hours=1),
        seats=tickets,
    )
    kind = TicketType.objects.create(title="Standard", price=Decimal("100"))
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    made = []
    for start in range(0, tickets, 500):
        orders = Order.objects.bulk_create(
            Order(
                token=uuid.uuid4().hex,
                reference=uuid.uuid4().hex[:12],
                event=event,
                status=OrderStatus.PAID,
                total_price=Decimal("100"),
                expires_at=now,
                ticket_count=1,
            )
            for _ in range(start, min(tickets, start + 500))
        )
        batch = []
        for n, order in zip(range(start, start + 500), orders, strict=False):
            code, digits = n, []
            for _ in range(6):
                code, digit = divmod(code, len(alphabet))
                digits.append(alphabet[digit])
            batch.append(
                Ticket(
                    external_id="".join(digits),
                    order=order,
                    event=event,
                    ticket_type=kind,
                    price=Decimal("100"),
                )
            )
        made += Ticket.objects.bulk_create(batch)
    account = ScannerAccount(name="Bench door")
    account.set_password("bench-door")
    account.save()
    return made


def summary(wall: list[float], cpu: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(wall) * 1000, 1),
        "max_ms": round(max(wall) * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "cpu_max_ms": round(max(cpu) * 1000, 1),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.test import Client
        from django.utils import timezone

        from ticketshop.orders.signing import sign_ticket

        tickets = seed(args.tickets)
        client = Client()
        password = {"password": "bench-door"}

        def post(path, body):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.post(path, body, content_type="application/json")
            assert response.status_code == 200, response.content[:200]
            return (
                response,
                time.perf_counter() - started,
                time.process_time() - started_cpu,
            )

        post("/scan/door/", password)  # warm-up (password check, caches)
        wall, cpu, size = [], [], 0
        for _ in range(args.repeat):
            response, w, c = post("/scan/door/", password)
            wall.append(w)
            cpu.append(c)
            size = len(response.content)
        door = summary(wall, cpu)

        payloads = [
            sign_ticket(external_id=t.external_id, event_id=t.event_id) for t in tickets
        ]
        wall, cpu, last = [], [], None
        for round_ in range(args.repeat):
            chosen = payloads[round_ * args.batch : (round_ + 1) * args.batch]
            last = [
                {
                    "key": uuid.uuid4().hex,
                    "external_id": text,
                    "use_ticket": True,
                    "scanned_at": timezone.now().isoformat(),
                    "shown": "green",
                    "times_used_seen": 0,
                }
                for text in chosen
            ]
            _, w, c = post("/scan/sync/", {**password, "scans": last})
            wall.append(w)
            cpu.append(c)
        sync = summary(wall, cpu)
        _, w, c = post("/scan/sync/", {**password, "scans": last})
        again = summary([w], [c])
        print(
            json.dumps(
                {
                    "tickets": args.tickets,
                    "batch": args.batch,
                    "door_list": {**door, "bytes": size},
                    "sync_fresh": sync,
                    "sync_same_keys_again": again,
                    "load_average": Path("/proc/loadavg").read_text().split()[:3],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
