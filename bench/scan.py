#!/usr/bin/env python3
"""Door scanning benchmark: 50 scanners admitting tickets at once.

Starts its own gunicorn (2 workers, as `make run`) on a fresh database
seeded with 5,000 paid tickets and one scanner account whose password is
hashed with Django's default (slow) hasher, then drives PUT /validate_ticket/
with wrk and bench/scan.lua (every scan asks to use the ticket):

1. saturation: 50 connections scanning back to back, no pause;
2. paced: the same 50 connections, with scans sent on a fixed schedule of
   --rate scans/s (default 500), each on whichever connection is free.

Afterwards it checks in the database that no use was lost: the sum of
times_used equals the admitting scans the server logged, every ticket's
logged previous counts are exactly 0..n-1, and wrk's own count of admitted
answers is at most that (requests still in flight when wrk stops are
answered to nobody; at most one per connection).

    .venv/bin/python bench/scan.py                      # SQLite under a temp dir
    .venv/bin/python bench/scan.py --hot                # every scan the same ticket
    .venv/bin/python bench/scan.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Needs `wrk` (Debian: apt-get install -y wrk). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from benchlib import (
    fmt_ms,
    loadavg,
    pg_admin,
    setup_django,
    start_server,
    stop_server,
    with_database,
)

LUA = Path(__file__).resolve().parent / "scan.lua"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres);"
        " the bench creates and drops its own database there, named --db-name."
        " Default: an SQLite file under a temporary directory",
    )
    parser.add_argument("--db-name", default="bench_scan")
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50, help="scanners")
    parser.add_argument("--duration", type=int, default=10, help="seconds per phase")
    parser.add_argument(
        "--rate", type=int, default=500, help="scans/s offered in the paced phase"
    )
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--var-dir",
        default=os.environ.get(
            "TICKETSHOP_VAR_DIR", str(Path(tempfile.gettempdir()) / "bench-scan")
        ),
        help="parent of the bench's temporary directory",
    )
    parser.add_argument(
        "--hot",
        action="store_true",
        help="every scan uses the same ticket (one guest list name, every door)",
    )
    parser.add_argument("--keep", action="store_true", help="keep database and logs")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def seed(args, workdir: Path, password: str) -> Path:
    """Migrate; create one event, N tickets of paid orders and a scanner account.

    Returns the file of external ids for scan.lua.
    """
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connections, transaction
    from django.utils import timezone

    from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType
    from ticketshop.orders.models import Order, OrderStatus, Ticket
    from ticketshop.orders.services import (
        EXTERNAL_ID_LENGTH,
        REFERENCE_LENGTH,
        random_code,
    )
    from ticketshop.scanning.models import ScannerAccount

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    now = timezone.now()
    per_order = 5
    with transaction.atomic():
        event = ChapterEvent.objects.create(
            title="Scan bench",
            event_at=now + timedelta(hours=1),
            sales_stop_at=now + timedelta(minutes=30),
            seats=args.tickets,
        )
        ticket_type = TicketType.objects.create(
            title="Standardbiljett", price=Decimal("199")
        )
        TicketOffer.objects.create(event=event, ticket_type=ticket_type)
        orders = Order.objects.bulk_create(
            Order(
                token=secrets.token_urlsafe(32),
                reference=random_code(REFERENCE_LENGTH),
                event=event,
                status=OrderStatus.PAID,
                total_price=Decimal("199") * per_order,
                expires_at=now,
                paid_at=now,
            )
            for _ in range((args.tickets + per_order - 1) // per_order)
        )
        ids: set[str] = set()
        while len(ids) < args.tickets:
            ids.add(random_code(EXTERNAL_ID_LENGTH))
        Ticket.objects.bulk_create(
            Ticket(
                order=orders[index // per_order],
                event=event,
                ticket_type=ticket_type,
                price=Decimal("199"),
                external_id=external_id,
            )
            for index, external_id in enumerate(sorted(ids))
        )
        account = ScannerAccount(name="Bench door")
        # Django's default hasher, as in production: the cost the
        # verified-credential cache must hide.
        account.set_password(password)
        account.save()
    connections.close_all()
    path = workdir / "ids.txt"
    path.write_text("\n".join(sorted(ids)) + "\n")
    return path


def run_wrk(
    args,
    *,
    phase: str,
    concurrency: int,
    duration: int,
    delay_ms: int,
    workdir: Path,
    ids_file: Path,
    password: str,
) -> dict:
    result = workdir / f"wrk-{phase}.json"
    result.unlink(missing_ok=True)
    env = {
        **os.environ,
        "SCAN_IDS": str(ids_file),
        "SCAN_PASSWORD": password,
        "SCAN_DELAY_MS": str(delay_ms),
        "SCAN_RESULT": str(result),
    }
    cmd = [
        "wrk",
        f"--threads={min(args.wrk_threads, concurrency)}",
        f"--connections={concurrency}",
        f"--duration={duration}s",
        "--timeout=10s",
        f"--script={LUA}",
        f"http://127.0.0.1:{args.port}/validate_ticket/",
    ]
    completed = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if completed.returncode != 0 or not result.exists():
        raise SystemExit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(result.read_text())
    data["seconds"] = data["duration_us"] / 1e6
    data["scans_per_s"] = data["requests"] / data["seconds"]
    data["delay_ms"] = delay_ms
    data["concurrency"] = concurrency
    return data


def warm_up(args, password: str) -> None:
    """Let every worker verify the password once (the slow hash) before timing."""
    body = json.dumps(
        {"external_id": "", "password": password, "use_ticket": False}
    ).encode()
    for _ in range(args.workers * args.threads * 4):
        request = urllib.request.Request(
            f"http://127.0.0.1:{args.port}/validate_ticket/",
            data=body,
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise


def check_database() -> dict:
    """Count in the database what the scans did."""
    from django.db import connections
    from django.db.models import Count, Max, Min, Sum

    from ticketshop.orders.models import Ticket
    from ticketshop.scanning.models import ScanLog, ScanResult

    times_used = Ticket.objects.aggregate(n=Sum("times_used"))["n"] or 0
    admitted = ScanLog.objects.filter(result=ScanResult.ADMITTED)
    logged = admitted.count()
    # Per ticket, the logged previous counts must be exactly 0..n-1.
    per_ticket = admitted.values("ticket_id").annotate(
        n=Count("id"),
        distinct=Count("times_used_before", distinct=True),
        low=Min("times_used_before"),
        high=Max("times_used_before"),
    )
    bad_tickets = sum(
        1
        for row in per_ticket
        if not (row["n"] == row["distinct"] and row["low"] == 0)
        or row["high"] != row["n"] - 1
    )
    mismatched = sum(
        1
        for ticket in Ticket.objects.annotate(
            logged=Count("scans", filter=admitted_filter())
        ).only("id", "times_used")
        if ticket.times_used != ticket.logged
    )
    connections.close_all()
    return {
        "sum_times_used": times_used,
        "logged_admitting_scans": logged,
        "tickets_with_bad_counts": bad_tickets,
        "tickets_where_uses_differ_from_log": mismatched,
        "uses_lost": logged - times_used,
    }


def admitted_filter():
    from django.db.models import Q

    from ticketshop.scanning.models import ScanResult

    return Q(scans__result=ScanResult.ADMITTED)


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="scan-", dir=args.var_dir))
    env = {
        "TICKETSHOP_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
        "DJANGO_ENV": "demo",
        "LOG_LEVEL": "WARNING",
    }
    database = "postgresql" if args.database_url else "sqlite"
    if args.database_url:
        pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}"')
        pg_admin(args.database_url, f'CREATE DATABASE "{args.db_name}"')
        env["DATABASE_URL"] = with_database(args.database_url, args.db_name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    password = secrets.token_urlsafe(12)

    report: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": database,
        "tickets": args.tickets,
        "hot": args.hot,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "gunicorn": (
            f"--workers {args.workers} --worker-class {args.worker_class}"
            f" --threads {args.threads}"
        ),
        "cpus": os.cpu_count(),
        "load_before": loadavg(),
    }
    server = None
    try:
        setup_django(env)
        ids_file = seed(args, workdir, password)
        if args.hot:
            hot = workdir / "hot.txt"
            hot.write_text(ids_file.read_text().split()[0] + "\n")
            ids_file = hot
        server = start_server(args, env, workdir, "/scan/")
        warm_up(args, password)
        common = {
            "workdir": workdir,
            "ids_file": ids_file,
            "password": password,
            "concurrency": args.concurrency,
            "duration": args.duration,
        }
        report["saturation"] = run_wrk(args, phase="saturation", delay_ms=0, **common)
        # wrk's threads together send --rate scans/s on a fixed schedule.
        wrk_threads = min(args.wrk_threads, args.concurrency)
        delay_ms = max(1, round(1000 * wrk_threads / args.rate))
        report["paced"] = run_wrk(args, phase="paced", delay_ms=delay_ms, **common)
        report["paced"]["offered_per_s"] = args.rate
        # Stop the server first: requests wrk left in flight may still commit.
        stop_server(server)
        server = None
        report["db"] = check_database()
    finally:
        if server is not None:
            stop_server(server)
        report["load_after"] = loadavg()
        if args.database_url and not args.keep:
            from django.db import connections

            connections.close_all()
            pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}"')
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            report["workdir"] = str(workdir)

    db = report["db"]
    client_admitted = sum(report[p]["admitted"] for p in ("saturation", "paced"))
    in_flight = 2 * args.concurrency
    db["client_counted_admitted"] = client_admitted
    ok = (
        db["uses_lost"] == 0
        and db["tickets_with_bad_counts"] == 0
        and db["tickets_where_uses_differ_from_log"] == 0
        and client_admitted
        <= db["logged_admitting_scans"]
        <= client_admitted + in_flight
        and all(
            report[p][k] == 0
            for p in ("saturation", "paced")
            for k in ("other", "not_found", "not_admitted", "non_2xx_3xx", "timeouts")
        )
    )
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if ok else 1


def print_report(r: dict) -> None:
    print(f"scan bench {r['date']}  database={r['database']}  cpus={r['cpus']}")
    print(f"gunicorn {r['gunicorn']}; {r['tickets']} paid tickets")
    print(f"load average before {r['load_before']}  after {r['load_after']}")
    for phase, title in (
        ("saturation", "back to back"),
        ("paced", "paced"),
    ):
        p = r[phase]
        extra = (
            f", one scan every {p['delay_ms']} ms (offered {p['offered_per_s']}/s)"
            if phase == "paced"
            else ""
        )
        print(f"{p['concurrency']} scanners {title}{extra}, {p['seconds']:.1f} s:")
        print(f"  scans/s   {p['scans_per_s']:.0f}")
        print(
            f"  latency   p50 {fmt_ms(p['p50_us'])}  p90 {fmt_ms(p['p90_us'])}"
            f"  p99 {fmt_ms(p['p99_us'])}  max {fmt_ms(p['max_us'])}"
        )
        print(
            f"  answers   admitted {p['admitted']} (first use {p['first_use']})"
            f"  not admitted {p['not_admitted']}  404 {p['not_found']}"
            f"  other {p['other']}  socket errors"
            f" {p['connect_errors'] + p['read_errors'] + p['write_errors']}"
            f"  timeouts {p['timeouts']}"
        )
    db = r["db"]
    print(
        f"database: sum(times_used) {db['sum_times_used']}, admitting scans logged"
        f" {db['logged_admitting_scans']}, counted by wrk"
        f" {db['client_counted_admitted']} (the rest were in flight at wrk's stop);"
        f" uses lost {db['uses_lost']}; tickets whose previous counts are not"
        f" 0..n-1: {db['tickets_with_bad_counts']}"
    )
    print("OK" if r["ok"] else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
