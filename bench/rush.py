#!/usr/bin/env python3
"""Rush benchmark: many distinct buyers reserving seats of one event at once.

Starts its own gunicorn (2 workers) on a fresh database, creates one event of
capacity C (plus other events, so that the listing shows --list-events in
all), drives N concurrent buyers with wrk and bench/rush.lua (no cookie is
sent, so every request is a new buyer), then checks in the database that no
seat was oversold, and finally measures GET /get_chapterevents/.

    .venv/bin/python bench/rush.py --database sqlite --concurrency 20
    .venv/bin/python bench/rush.py --database postgres --concurrency 200 \
        --capacity 500 --duration 5
    .venv/bin/python bench/rush.py --database sqlite --expired 20000 --skip-list

Needs `wrk` (Debian: apt-get install -y wrk). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchlib import (
    fmt_ms,
    loadavg,
    pg_connect,
    setup_django,
    start_server,
    stop_server,
    with_database,
)

LUA = Path(__file__).resolve().parent / "rush.lua"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_ADMIN_URL,
        help="PostgreSQL server to use (postgres only); the bench creates and "
        "drops its own database there, named --db-name",
    )
    parser.add_argument("--db-name", default="bench_rush")
    parser.add_argument("--concurrency", type=int, default=20, help="buyers at once")
    parser.add_argument(
        "--capacity", type=int, default=1_000_000, help="seats of the event"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per phase")
    parser.add_argument(
        "--student-limit",
        type=int,
        default=None,
        help="give the event's student type a limit of its own (one more "
        "count under the lock); default: no limit",
    )
    parser.add_argument(
        "--expired",
        type=int,
        default=0,
        metavar="N",
        help="pre-fill the rush event with N dead orders (1-4 tickets each) "
        "before the run: half recorded as expired (FAILED_EXPIRED_RESERVATION), "
        "half still RESERVED but lapsed long ago (see --expired-lapsed-share)",
    )
    parser.add_argument(
        "--expired-lapsed-share",
        type=float,
        default=0.5,
        help="share of the --expired orders left RESERVED with expires_at in "
        "the past and no payment in progress (default 0.5)",
    )
    parser.add_argument("--list-events", type=int, default=50)
    parser.add_argument("--list-concurrency", type=int, default=20)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="app servers (gunicorn instances on --port, --port + 1, …), each"
        " driven by a wrk of its own with its share of the buyers",
    )
    parser.add_argument("--workers", type=int, default=2)
    # Sync workers measured best here: the work is CPU-bound on 2 cores, so
    # threads only add GIL contention (see bench/README.md, "rush").
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--var-dir",
        default=os.environ.get(
            "TICKETSHOP_VAR_DIR", str(Path(tempfile.gettempdir()) / "bench-rush")
        ),
        help="parent of the bench's temporary directory",
    )
    parser.add_argument("--keep", action="store_true", help="keep database and logs")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def create_pg_database(admin_url: str, name: str) -> None:
    with pg_connect(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(admin_url: str, name: str) -> None:
    with pg_connect(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_events(args, workdir: Path) -> dict:
    """Migrate and import the rush event plus the other listed events."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    student = "student"
    if args.student_limit is not None:
        student = {"key": "student", "limit": args.student_limit}
    events = [
        {
            "title": "Rush",
            "description": "The event everybody wants to see.",
            "location": "Nymble",
            "event_at": "+30d 19:00",
            "sales_stop_at": "+30d 18:00",
            "seats": args.capacity,
            "max_tickets_per_payment": 8,
            "reservation_minutes": 15,
            "swish_message": "Rush",
            "ticket_types": ["standard", student, "crew"],
        }
    ]
    for n in range(1, args.list_events):
        events.append(
            {
                "title": f"Event {n}",
                "description": "Another evening. " * 10,
                "location": "Nymble",
                "event_at": f"+{30 + n}d 19:00",
                "sales_stop_at": f"+{30 + n}d 18:00",
                "seats": 500,
                "swish_message": f"Event {n}",
                # Every other event limits its student tickets, so the listing
                # also pays for the per-type counts.
                "ticket_types": (
                    ["standard", {"key": "student", "limit": 100}]
                    if n % 2
                    else ["standard", "student"]
                ),
            }
        )
    data = {
        "ticket_types": [
            {"key": "standard", "title": "Standardbiljett", "price": "199"},
            {"key": "student", "title": "Studentbiljett", "price": "99.50"},
            {"key": "crew", "title": "Crew", "price": "0", "visible": False},
        ],
        "events": events,
    }
    path = workdir / "events.json"
    path.write_text(json.dumps(data))
    out = workdir / "import.out"
    with out.open("w") as handle:
        call_command("import_events", str(path), stdout=handle)
    created = json.loads(out.read_text())
    from django.db import connection, connections

    ids = {
        "event_id": created["events"][0],
        "ticket_type_ids": [
            created["ticket_types"]["standard"],
            created["ticket_types"]["student"],
        ],
    }
    ids["prefill"] = fill_expired(args, ids)
    if connection.vendor == "postgresql":
        # Statistics for the planner, as autovacuum gathers them within a
        # minute of an import in an operating shop.
        with connection.cursor() as cursor:
            if args.expired:
                # The dead orders are old: autovacuum has long since visited
                # them (visibility map set, as index-only scans need).
                from ticketshop.orders.models import Order, Ticket

                tables = ", ".join(
                    connection.ops.quote_name(model._meta.db_table)
                    for model in (Order, Ticket)
                )
                cursor.execute(f"VACUUM (ANALYZE) {tables}")
            cursor.execute("ANALYZE")

    connections.close_all()
    return ids


# Codes of the pre-filled rows contain "0", which the shop never draws
# (orders.lifecycle's alphabet has no 0, O, 1 or I): they cannot collide with
# a reservation's codes, so no run pays for a retry the other did not.
_FILL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_FILL_PRICES = (Decimal("199"), Decimal("99.50"))  # standard, student
FILL_TOKEN_PREFIX = "bench-expired-"  # noqa: S105 (an order token, not a secret)


def _fill_code(n: int, length: int) -> str:
    chars = []
    for _ in range(length - 1):
        n, digit = divmod(n, len(_FILL_ALPHABET))
        chars.append(_FILL_ALPHABET[digit])
    if n:
        raise ValueError("too many pre-filled rows for the code length")
    return "0" + "".join(reversed(chars))


def fill_expired(args, ids: dict, *, batch: int = 2000) -> dict:
    """Insert ``args.expired`` dead orders of the rush event with their tickets.

    Test data written straight to the database with ``bulk_create``. Only the
    fields that the order and ticket models have had since before issue 9 are
    set; the others (payment_method, refund_state, name, cancelled_at) take
    their model defaults, so the same fill runs against older checkouts. A
    share (``--expired-lapsed-share``) stays RESERVED with its hold lapsed
    long ago and no payment in progress: nothing in the old code ever swept
    those, and the new one sweeps them under the first reservation's lock.
    The rest are FAILED_EXPIRED_RESERVATION. Seeded, so every run gets the
    same rows.
    """
    n = args.expired
    if n <= 0:
        return {"orders": 0, "tickets": 0, "lapsed_reserved": 0, "seconds": 0.0}
    import time

    from django.db import transaction
    from django.utils import timezone

    from ticketshop.orders.models import Order, OrderStatus, Ticket

    started = time.monotonic()
    rng = random.Random(20_000)
    now = timezone.now()
    event_id = ids["event_id"]
    type_ids = ids["ticket_type_ids"]
    lapsed_every = args.expired_lapsed_share
    lapsed = 0
    tickets_total = 0
    next_ticket = 0
    for start in range(0, n, batch):
        orders, plans = [], []
        for i in range(start, min(start + batch, n)):
            count = rng.randint(1, 4)
            kinds = [rng.randrange(len(type_ids)) for _ in range(count)]
            # Lapsed between an hour and 60 days ago (beyond any grace).
            expires_at = now - timedelta(seconds=rng.randint(3600, 60 * 86400))
            # Interleaved, so that either kind is spread over the table.
            is_lapsed = int((i + 1) * lapsed_every) > int(i * lapsed_every)
            lapsed += is_lapsed
            orders.append(
                Order(
                    token=f"{FILL_TOKEN_PREFIX}{i}",
                    reference=_fill_code(i, 10),
                    event_id=event_id,
                    status=(
                        OrderStatus.RESERVED
                        if is_lapsed
                        else OrderStatus.FAILED_EXPIRED_RESERVATION
                    ),
                    email=f"buyer{i}@example.com",
                    total_price=sum(_FILL_PRICES[k] for k in kinds),
                    expires_at=expires_at,
                    payment_pending=False,
                    ticket_count=count,
                )
            )
            plans.append(kinds)
        with transaction.atomic():
            Order.objects.bulk_create(orders)
            if any(order.pk is None for order in orders):
                by_token = dict(
                    Order.objects.filter(
                        token__in=[order.token for order in orders]
                    ).values_list("token", "pk")
                )
                for order in orders:
                    order.pk = by_token[order.token]
            tickets = []
            for order, kinds in zip(orders, plans, strict=True):
                for k in kinds:
                    tickets.append(
                        Ticket(
                            external_id=_fill_code(next_ticket, 6),
                            order_id=order.pk,
                            event_id=event_id,
                            ticket_type_id=type_ids[k],
                            price=_FILL_PRICES[k],
                        )
                    )
                    next_ticket += 1
            Ticket.objects.bulk_create(tickets)
        tickets_total += len(tickets)
    return {
        "orders": n,
        "tickets": tickets_total,
        "lapsed_reserved": lapsed,
        "seconds": time.monotonic() - started,
    }


def worker_cpu_seconds(servers: list[subprocess.Popen]) -> float:
    """CPU time (user + system) used so far by the servers' worker processes.

    Less sensitive than wall-clock rates to other work on a shared machine.
    """
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) in {server.pid for server in servers}:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backends(args) -> list[int]:
    """PostgreSQL backend pids serving the bench database (on this machine)."""
    if args.database != "postgres":
        return []
    with pg_connect(args.database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [args.db_name]
        ).fetchall()
    return [pid for (pid,) in rows]


def database_cpu_seconds(pids: list[int]) -> float:
    return sum(process_cpu_seconds(pid) for pid in pids)


def start_servers(args, env: dict, workdir: Path) -> list[subprocess.Popen]:
    """Start ``--servers`` gunicorn instances, each on a port of its own and
    with ``--workers`` workers (the first logs to workdir/gunicorn.log)."""
    servers = []
    try:
        for index in range(args.servers):
            server_args = argparse.Namespace(
                **{**vars(args), "port": args.port + index}
            )
            logdir = workdir if index == 0 else workdir / f"server{index}"
            logdir.mkdir(exist_ok=True)
            servers.append(
                start_server(server_args, env, logdir, "/get_chapterevents/")
            )
    except BaseException:
        for server in servers:
            stop_server(server)
        raise
    return servers


def run_wrk(
    args, *, mode: str, concurrency: int, duration: int, workdir: Path, ids: dict
) -> dict:
    """Drive the app servers with ``concurrency`` connections in all: one wrk
    per server, the connections shared out, the answers added up."""
    shares = [concurrency // args.servers] * args.servers
    for index in range(concurrency % args.servers):
        shares[index] += 1
    runs = [
        _start_wrk(
            args,
            mode=mode,
            concurrency=share,
            duration=duration,
            workdir=workdir,
            ids=ids,
            port=args.port + index,
        )
        for index, share in enumerate(shares)
    ]
    results = [_finish_wrk(*run) for run in runs]
    if len(results) == 1:
        return results[0]
    return _merge_wrk(results)


def _merge_wrk(results: list[dict]) -> dict:
    """Add the counts up; the latency percentiles of all answers together are
    read from each run's half-percent quantiles, each standing for half a
    percent of its run's requests (so they are close, not exact)."""
    merged = {
        key: sum(r[key] for r in results)
        for key, value in results[0].items()
        if isinstance(value, int) and not key.endswith("_us")
    }
    merged["duration_us"] = max(r["duration_us"] for r in results)
    merged["seconds"] = merged["duration_us"] / 1e6
    merged["max_us"] = max(r["max_us"] for r in results)
    total = sum(r["requests"] for r in results) or 1
    merged["mean_us"] = sum(r["mean_us"] * r["requests"] for r in results) / total
    points = sorted(
        (q, r["requests"] / len(r["quantiles_us"]))
        for r in results
        for q in r["quantiles_us"]
    )
    for p in (50, 90, 95, 99):
        seen, target = 0.0, total * p / 100
        for q, weight in points:
            seen += weight
            if seen >= target:
                merged[f"p{p}_us"] = q
                break
        else:
            merged[f"p{p}_us"] = points[-1][0] if points else 0
    merged["per_server"] = [
        {k: r[k] for k in ("requests", "created", "p95_us")} for r in results
    ]
    return merged


def _start_wrk(
    args,
    *,
    mode: str,
    concurrency: int,
    duration: int,
    workdir: Path,
    ids: dict,
    port: int,
):
    result = workdir / f"wrk-{mode}-{port}.json"
    result.unlink(missing_ok=True)
    path = "/reserve_ticket/" if mode == "reserve" else "/get_chapterevents/"
    env = {
        **os.environ,
        "RUSH_MODE": mode,
        "RUSH_EVENT": str(ids["event_id"]),
        "RUSH_TICKET_TYPES": ",".join(map(str, ids["ticket_type_ids"])),
        "RUSH_RESULT": str(result),
    }
    cmd = [
        "wrk",
        f"--threads={min(args.wrk_threads, concurrency)}",
        f"--connections={concurrency}",
        f"--duration={duration}s",
        "--timeout=10s",
        f"--script={LUA}",
        f"http://127.0.0.1:{port}{path}",
    ]
    process = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, result


def _finish_wrk(process: subprocess.Popen, result: Path) -> dict:
    stdout, stderr = process.communicate()
    if process.returncode != 0 or not result.exists():
        raise SystemExit(f"wrk failed:\n{stdout}\n{stderr}")
    data = json.loads(result.read_text())
    data["seconds"] = data["duration_us"] / 1e6
    return data


def check_database(ids: dict, capacity: int) -> dict:
    """Count in the database: every ticket of the rush event, and live ones.

    ``tickets`` and ``orders`` are those of the run, without the pre-filled
    dead orders (``--expired``), which never hold a seat.
    """
    from django.db import connections
    from django.db.models import Count
    from django.utils import timezone

    from ticketshop.orders.models import Order, Ticket
    from ticketshop.orders.selectors import count_live_tickets

    event_id = ids["event_id"]
    prefill = ids.get("prefill") or {"orders": 0, "tickets": 0}
    now = timezone.now()
    tickets = Ticket.objects.filter(event_id=event_id).count() - prefill["tickets"]
    live = count_live_tickets(event_ids=[event_id], now=now).get(event_id, 0)
    orders = Order.objects.filter(event_id=event_id).count() - prefill["orders"]
    by_status = dict(
        Order.objects.filter(event_id=event_id, token__startswith=FILL_TOKEN_PREFIX)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    all_tickets = Ticket.objects.count()
    connections.close_all()
    return {
        "tickets": tickets,
        "live_tickets": live,
        "orders": orders,
        "prefilled_by_status": by_status,
        "tickets_in_db": all_tickets,
        # No order is ever released in this bench (every buyer is new and
        # nothing expires within 15 minutes), so every ticket must fit.
        "oversold": max(0, tickets - capacity, live - capacity),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="rush-", dir=args.var_dir))
    env = {
        "TICKETSHOP_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
        "DJANGO_ENV": "demo",
    }
    if args.database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        create_pg_database(args.database_url, args.db_name)
        env["DATABASE_URL"] = with_database(args.database_url, args.db_name)

    report: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": args.database,
        "concurrency": args.concurrency,
        "capacity": args.capacity,
        "duration_s": args.duration,
        "student_limit": args.student_limit,
        "expired": args.expired,
        "list_events": args.list_events,
        "servers": args.servers,
        "gunicorn": (
            f"--workers {args.workers} --worker-class {args.worker_class}"
            f" --threads {args.threads}"
        ),
        "cpus": os.cpu_count(),
        "load_before": loadavg(),
    }
    servers: list[subprocess.Popen] = []
    try:
        setup_django(env)
        ids = create_events(args, workdir)
        report["prefill"] = ids["prefill"]
        servers = start_servers(args, env, workdir)
        # Warm both workers up (imports, URL resolver, DB connections) without
        # taking any seat.
        run_wrk(args, mode="list", concurrency=4, duration=1, workdir=workdir, ids=ids)
        cpu = worker_cpu_seconds(servers)
        # The workers keep their connections (CONN_MAX_AGE), so the backends
        # that served the warm-up serve the rush.
        backends = database_backends(args)
        db_cpu = database_cpu_seconds(backends)
        rush = run_wrk(
            args,
            mode="reserve",
            concurrency=args.concurrency,
            duration=args.duration,
            workdir=workdir,
            ids=ids,
        )
        rush["worker_cpu_ms"] = (worker_cpu_seconds(servers) - cpu) * 1000
        if backends:
            rush["database_cpu_ms"] = (database_cpu_seconds(backends) - db_cpu) * 1000
        report["reserve"] = rush
        report["reservations_per_s"] = rush["created"] / rush["seconds"]
        report["requests_per_s"] = rush["requests"] / rush["seconds"]
        if not args.skip_list:
            cpu = worker_cpu_seconds(servers)
            listing = run_wrk(
                args,
                mode="list",
                concurrency=args.list_concurrency,
                duration=args.duration,
                workdir=workdir,
                ids=ids,
            )
            listing["worker_cpu_ms"] = (worker_cpu_seconds(servers) - cpu) * 1000
            report["list"] = listing
            report["list_per_s"] = listing["ok_200"] / listing["seconds"]
        # Counted once the server is stopped: wrk leaves requests in flight
        # when its time is up, and the server still completes them.
        for server in servers:
            stop_server(server)
        servers = []
        report["db"] = check_database(ids, args.capacity)
    finally:
        for server in servers:
            stop_server(server)
        report["load_after"] = loadavg()
        if args.database == "postgres" and not args.keep:
            from django.db import connections

            connections.close_all()
            drop_pg_database(args.database_url, args.db_name)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            report["workdir"] = str(workdir)

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    ok = report["db"]["oversold"] == 0 and report["reserve"]["other"] == 0
    return 0 if ok else 1


def print_report(r: dict) -> None:
    rush, db = r["reserve"], r["db"]
    print(f"rush bench {r['date']}  database={r['database']}  cpus={r['cpus']}")
    print(f"{r['servers']} × gunicorn {r['gunicorn']}")
    limit = f", student limit {r['student_limit']}" if r["student_limit"] else ""
    print(
        f"{r['concurrency']} concurrent buyers, capacity {r['capacity']}{limit},"
        f" {rush['seconds']:.1f} s"
    )
    fill = r.get("prefill") or {}
    if fill.get("orders"):
        print(
            f"  pre-filled       {fill['orders']} dead orders ({fill['tickets']}"
            f" tickets; {fill['lapsed_reserved']} RESERVED but lapsed, the rest"
            f" expired) in {fill['seconds']:.1f} s; after the run:"
            f" {db.get('prefilled_by_status')}"
        )
    print(f"  reservations/s   {r['reservations_per_s']:.0f}")
    print(f"  requests/s       {r['requests_per_s']:.0f}")
    print(
        "  worker CPU/req   "
        f"{rush['worker_cpu_ms'] / max(rush['requests'], 1):.2f} ms"
        " (gunicorn workers)"
    )
    if "database_cpu_ms" in rush:
        print(
            "  database CPU/req "
            f"{rush['database_cpu_ms'] / max(rush['requests'], 1):.2f} ms"
            " (PostgreSQL backends of the workers)"
        )
    print(
        f"  latency          p50 {fmt_ms(rush['p50_us'])}  p90"
        f" {fmt_ms(rush['p90_us'])}  p95 {fmt_ms(rush['p95_us'])}"
        f"  p99 {fmt_ms(rush['p99_us'])}"
        f"  max {fmt_ms(rush['max_us'])}"
    )
    print(
        f"  status           201: {rush['created']}  403 OutOfTickets:"
        f" {rush['out_of_tickets']}  403 other: {rush['other_403']}"
        f"  503 Busy: {rush['busy']}  other: {rush['other']}"
    )
    errors = {
        k: rush[k]
        for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        if rush[k]
    }
    if errors:
        print(f"  socket errors    {errors}")
    print(
        f"  database         {db['tickets']} tickets in {db['orders']} orders"
        f" ({db['live_tickets']} live) for {r['capacity']} seats"
    )
    print(f"  oversold         {db['oversold']}")
    if "list" in r:
        listing = r["list"]
        print(
            f"GET /get_chapterevents/ with {r.get('list_events', 50)} events,"
            f" {listing['ok_200']} answers in {listing['seconds']:.1f} s"
            f" ({db['tickets_in_db']} tickets in the database)"
        )
        print(f"  requests/s       {r['list_per_s']:.0f}")
        print(
            "  worker CPU/req   "
            f"{listing['worker_cpu_ms'] / max(listing['requests'], 1):.2f} ms"
        )
        not_ok = listing["requests"] - listing["ok_200"]
        print(
            f"  latency          p50 {fmt_ms(listing['p50_us'])}  p99"
            f" {fmt_ms(listing['p99_us'])}  non-200: {not_ok}"
        )
    print(f"load average before {r['load_before']}, after {r['load_after']}")


if __name__ == "__main__":
    sys.exit(main())
