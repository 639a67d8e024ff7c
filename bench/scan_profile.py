#!/usr/bin/env python3
"""Where a door scan spends its time: statements, round trips and CPU, in process.

Seeds the same database as bench/scan.py (one event, N paid tickets, one
scanner account with a PBKDF2 password), then drives ``PUT /validate_ticket/``
through Django's WSGI handler in one thread (no HTTP server, no network
between client and app): first one scan with every SQL statement printed,
then --scans scans timed (CPU and wall per scan) with the statements counted
by kind. Round trips are the statements plus the transaction control
(BEGIN/COMMIT/SAVEPOINT, which Django sends outside the query log) seen by
the database driver.

    .venv/bin/python bench/scan_profile.py                     # SQLite
    .venv/bin/python bench/scan_profile.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import loadavg, pg_admin, setup_django, with_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--db-name", default="bench_scan_profile")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument(
        "--same-ticket", action="store_true", help="every scan uses one ticket"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scan-profile-"))
    env = {
        "TICKETSHOP_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
        "DJANGO_ENV": "demo",
        "LOG_LEVEL": "WARNING",
    }
    if args.database_url:
        pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}"')
        pg_admin(args.database_url, f'CREATE DATABASE "{args.db_name}"')
        env["DATABASE_URL"] = with_database(args.database_url, args.db_name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    setup_django(env)
    import scan  # bench/scan.py: the same seed
    from django.db import connection
    from django.test import Client

    password = secrets.token_urlsafe(12)
    ids = (
        Path(scan.seed(argparse.Namespace(tickets=args.tickets), workdir, password))
        .read_text()
        .split()
    )
    client = Client(REMOTE_ADDR="10.0.0.7")

    control = Counter()
    # Every statement's text as sent, prepared ones too (the query log has
    # no text for those: Django reads it from client-side binding only).
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def scan_one(external_id: str):
        response = client.put(
            "/validate_ticket/",
            data=json.dumps(
                {"external_id": external_id, "password": password, "use_ticket": True}
            ),
            content_type="application/json",
        )
        assert response.status_code == 200, (
            response.status_code,
            response.content[:200],
        )

    # Transaction control goes to the driver, not the query log: count it there.
    raw = connection
    original = {}

    def wrap(name):
        method = getattr(raw, name)
        original[name] = method

        def counted(*a, **k):
            control[name] += 1
            return method(*a, **k)

        setattr(raw, name, counted)

    for name in (
        "_commit",
        "_rollback",
        "_savepoint",
        "_savepoint_commit",
        "_savepoint_rollback",
    ):
        wrap(name)
    begin = Counter()
    original_set_autocommit = raw._set_autocommit

    def set_autocommit(value):
        if not value:
            begin["BEGIN"] += 1
        return original_set_autocommit(value)

    raw._set_autocommit = set_autocommit

    # Warm up: the first scan verifies the password (PBKDF2) and compiles.
    for external_id in ids[:20]:
        scan_one(external_id)
    target = (
        [ids[0]] * args.scans
        if args.same_ticket
        else [ids[i % len(ids)] for i in range(20, 20 + args.scans)]
    )
    control.clear()
    begin.clear()
    statements.clear()
    with connection.execute_wrapper(record):
        scan_one(target[0])
    print(f"# {connection.vendor}: the statements of one scan")
    for statement in statements:
        print(f"  {statement[:160]}")
    print(f"  transaction control: {dict(control) or 'none'} {dict(begin) or ''}")
    control.clear()
    begin.clear()
    kinds = Counter()
    load = loadavg()
    cpu, wall = time.process_time(), time.perf_counter()
    statements.clear()
    with connection.execute_wrapper(record):
        for external_id in target[1:]:
            scan_one(external_id)
    n = len(target) - 1
    cpu, wall = (
        (time.process_time() - cpu) / n * 1000,
        (time.perf_counter() - wall) / n * 1000,
    )
    for statement in statements:
        kinds[statement.split()[0].upper()] += 1
    per_scan = sum(kinds.values()) / n
    control_trips = (sum(control.values()) + sum(begin.values())) / n
    per_kind = {k: round(v / n, 2) for k, v in kinds.items()}
    print(
        f"# {n} scans: cpu/scan {cpu:.3f} ms, wall/scan {wall:.3f} ms;"
        f" statements/scan {per_scan:.2f} {per_kind};"
        f" transaction control/scan {control_trips:.2f}; load {load} -> {loadavg()}"
    )
    if args.database_url:
        from django.db import connections

        connections.close_all()
        pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
