#!/usr/bin/env python3
"""Time rendering one order's ticket e-mail: 8 tickets, QR codes and the PDF.

Creates a throw-away SQLite database in a temporary TICKETSHOP_VAR_DIR, one
event and one paid order of 8 tickets, then renders the complete e-mail
(content with 8 QR images, HTML and text templates, the 8-page PDF, the MIME
message serialised to bytes) --repeat times and prints the median and max,
with the parts (QR images, PDF) timed separately. Nothing is sent.

    .venv/bin/python bench/render_email.py --repeat 30 --language sv

See bench/README.md ("render_email").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--tickets", type=int, default=8)
    parser.add_argument("--language", default="sv")
    parser.add_argument("--warmup", type=int, default=2)
    return parser.parse_args(argv)


def setup_django(var_dir: str) -> None:
    os.environ["TICKETSHOP_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_paid_order(tickets: int):
    from django.utils import timezone

    from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType
    from ticketshop.orders.models import Order, OrderStatus
    from ticketshop.orders.services import TicketLine, reserve_tickets

    now = timezone.now()
    event = ChapterEvent.objects.create(
        title="Fysikalen 2026 – Premiär",
        location="Nymble, Drottning Kristinas väg 15",
        event_at=now + timedelta(days=30),
        sales_stop_at=now + timedelta(days=29),
        seats=500,
        max_tickets_per_payment=max(8, tickets),
    )
    standard = TicketType.objects.create(title="Standardbiljett", price=Decimal(199))
    student = TicketType.objects.create(title="Studentbiljett", price=Decimal("99.50"))
    for ticket_type in (standard, student):
        TicketOffer.objects.create(event=event, ticket_type=ticket_type)
    order = reserve_tickets(
        event_id=event.pk,
        lines=[
            TicketLine(ticket_type_id=standard.pk, count=tickets - tickets // 2),
            TicketLine(ticket_type_id=student.pk, count=tickets // 2),
        ],
    )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PAID,
        paid_at=now,
        email="kund@example.org",
        payment_reference="0123456789ABCDEF0123456789ABCDEF",
    )
    order.refresh_from_db()
    return order


def timed(function, repeat: int, warmup: int) -> dict:
    """Run ``function`` and summarise wall-clock and CPU time per call.

    CPU time shows the work itself; wall time also shows waiting for a core
    on a busy machine.
    """
    for _ in range(warmup):
        function()
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {
        "median_ms": round(statistics.median(wall) * 1000, 1),
        "max_ms": round(max(wall) * 1000, 1),
        "min_ms": round(min(wall) * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "cpu_max_ms": round(max(cpu) * 1000, 1),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="render-email-") as var_dir:
        setup_django(var_dir)
        from django.utils import translation

        from ticketshop.delivery.content import build_ticket_content
        from ticketshop.delivery.emails import build_ticket_email
        from ticketshop.delivery.pdf import render_tickets_pdf

        order = make_paid_order(args.tickets)
        sizes = {}

        def whole_email():
            message = build_ticket_email(order=order, language=args.language)
            sizes["message_bytes"] = len(message.message().as_bytes())

        def content_with_qr():
            with translation.override(args.language):
                build_ticket_content(order=order, language=args.language)

        with translation.override(args.language):
            content = build_ticket_content(order=order, language=args.language)

        def pdf_only():
            sizes["pdf_bytes"] = len(render_tickets_pdf(content))

        result = {
            "tickets": args.tickets,
            "repeat": args.repeat,
            "language": args.language,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "whole_email": timed(whole_email, args.repeat, args.warmup),
            "content_with_qr_images": timed(content_with_qr, args.repeat, args.warmup),
            "pdf": timed(pdf_only, args.repeat, args.warmup),
            **sizes,
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
