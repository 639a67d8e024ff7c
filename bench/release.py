#!/usr/bin/env python3
"""Release benchmark: a show night's ticket release through the whole flow.

Starts the shop exactly as `make run` does (Caddy in front of gunicorn when
the code has it, the Swish simulator's own process when the code has one, the
task worker) on a fresh database and var directory, imports one event of
--seats seats, then lets --buyers buyers arrive within --arrival seconds.
Each reserves one ticket, starts the Swish payment, and then approves
(--approve share), declines (--decline share) or abandons it in the
simulator; approvers poll session_payment_status as the pay page does (1 s,
then x1.5 up to 10 s) until PAID. Every answer is timed; Busy (503 with
Retry-After) is retried as the pages do. At the end it waits for the ticket
e-mails (files under var/mail/) and checks that every buyer
who approved is PAID with exactly one e-mail.

    .venv/bin/python bench/release.py --database sqlite
    .venv/bin/python bench/release.py --database postgres
    # the code of another checkout (e.g. main, for a before/after pair):
    .venv/bin/python bench/release.py --checkout /tmp/h1-before

See bench/README.md, "release".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from benchlib import ROOT, drop_run, loadavg, pg_admin, with_database

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--db-name", default="bench_release")
    parser.add_argument("--buyers", type=int, default=400)
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--arrival", type=float, default=5.0, help="seconds")
    parser.add_argument("--approve", type=float, default=0.8)
    parser.add_argument("--decline", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--sim-port", type=int, default=8401)
    # The shop's gunicorn behind make run's Caddy (which listens on --port).
    parser.add_argument("--app-port", type=int, default=8402)
    parser.add_argument(
        "--checkout", default=str(ROOT), help="the code to run (its own .venv)"
    )
    parser.add_argument(
        "--mail-deadline",
        type=float,
        default=600.0,
        help="give up waiting for e-mails this many seconds after the start",
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=300.0,
        help="a buyer stops retrying start_payment after this many seconds",
    )
    parser.add_argument(
        "--poll-max",
        type=float,
        default=10.0,
        help="the longest pause between two status asks, s (the pay page's: shop.js)",
    )
    parser.add_argument(
        "--poll-backoff",
        type=float,
        default=1.5,
        help="each pause between two status asks is the last one times this",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


class Timings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)

    def call(self, step: str, fn, *args, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = fn(*args, **kwargs)
            status = response.status_code
        except requests.RequestException:
            response, status = None, 0
        elapsed = (time.monotonic() - started) * 1000
        with self.lock:
            self.ms[step].append(elapsed)
            self.statuses[step][status] += 1
        return response


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def retry_after(response) -> float:
    try:
        return min(10.0, float(response.headers.get("Retry-After", 2)))
    except ValueError:
        return 2.0


def buyer(n: int, args, event: dict, timings: Timings, start: float, results: dict):
    base = f"http://127.0.0.1:{args.port}"
    sim = args.sim_base
    rng = random.Random(args.seed * 1000 + n)
    time.sleep(max(0.0, start + n * args.arrival / args.buyers - time.monotonic()))
    email = f"buyer{n}@example.com"
    http = requests.Session()
    result = {"email": email, "choice": None, "outcome": None}
    results[n] = result
    try:
        body = {
            "chapter_event": event["event"],
            "tickets": [{"ticket_type": event["standard"], "count": 1}],
        }
        for _ in range(30):
            response = timings.call(
                "reserve", http.post, f"{base}/reserve_ticket/", json=body, timeout=60
            )
            if response is None or response.status_code != 503:
                break
            time.sleep(retry_after(response))
        if response is None or response.status_code != 201:
            result["outcome"] = f"reserve {getattr(response, 'status_code', 0)}"
            return
        token = None
        give_up = time.monotonic() + args.give_up
        while time.monotonic() < give_up:
            response = timings.call(
                "start_payment",
                http.post,
                f"{base}/start_payment/",
                json={"email_address": email},
                timeout=60,
            )
            if response is not None and response.status_code == 503:
                time.sleep(retry_after(response))
                continue
            if response is not None and response.status_code == 500:
                time.sleep(2)  # the page's "try again" button
                continue
            break
        if response is None or response.status_code != 200:
            result["outcome"] = f"start {getattr(response, 'status_code', 0)}"
            return
        token = response.json()
        draw = rng.random()
        if draw < args.approve:
            choice = "approve"
        elif draw < args.approve + args.decline:
            choice = "decline"
        else:
            choice = "abandon"
        result["choice"] = choice
        time.sleep(rng.uniform(2, 8))  # opening Swish, BankID
        if choice == "abandon":
            result["outcome"] = "abandoned"
            return
        timings.call(
            "payer " + choice,
            requests.post,
            f"{sim}/swish-simulator/pay/{token}/",
            data={"action": choice},
            allow_redirects=False,
            timeout=60,
        )
        paid_from = time.monotonic()
        result["approved_wall"] = time.time()
        result["approved_at_s"] = paid_from - start
        delay = 1.0
        while time.monotonic() - paid_from < 300:
            time.sleep(delay)
            response = timings.call(
                "status", http.get, f"{base}/session_payment_status/", timeout=60
            )
            if response is not None and response.status_code == 200:
                status = response.json()["status"]
                if status != "RESERVED" or not response.json()["payment_pending"]:
                    result["outcome"] = status
                    result["settled_s"] = time.monotonic() - paid_from
                    result["seen_at_s"] = time.monotonic() - start
                    result["seen_wall"] = time.time()
                    return
            delay = min(delay * args.poll_backoff, args.poll_max)
        result["outcome"] = "still pending"
    finally:
        http.close()


def last_paid_split(results: dict) -> dict | None:
    paid = [r for r in results.values() if r["outcome"] == "PAID"]
    if not paid:
        return None
    last = max(paid, key=lambda r: r["seen_at_s"])
    return {
        "approved_at": round(last["approved_at_s"], 1),
        "approval_to_seen": round(last["settled_s"], 1),
        "latest_approval": round(max(r["approved_at_s"] for r in paid), 1),
    }


def cpu_seconds(shop_pid: int, sim_port: int) -> dict[str, float]:
    """CPU time (user + system, s) used so far by each kind of process of
    the run: the shop's app servers, the Swish simulator, the task worker
    and Caddy (the processes of ``make run``'s session), PostgreSQL (every
    postgres process on the machine) and this client. Read from /proc;
    {} where there is none."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = defaultdict(float)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        session, seconds = int(fields[3]), (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == os.getpid():
            kind = "client"
        elif session == shop_pid:
            if "caddy" in cmd:
                kind = "caddy"
            elif "run_worker" in cmd:
                kind = "worker"
            elif f":{sim_port} " in f"{cmd} ":
                kind = "simulator"
            elif "gunicorn" in cmd:
                kind = "shop"
            else:
                continue
        elif cmd.startswith("postgres"):
            kind = "postgres"
        else:
            continue
        used[kind] += seconds
    return dict(used)


def mails_by_address(mail_dir: Path) -> Counter:
    counts: Counter = Counter()
    if not mail_dir.is_dir():
        return counts
    for path in mail_dir.iterdir():
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        # Django's file backend appends every message one connection sends
        # to the same file: count each message's To: header.
        for address in re.findall(r"^To: (\S+)$", text, re.MULTILINE):
            counts[address] += 1
    return counts


def median_settled(results: dict) -> float | None:
    times = sorted(r["settled_s"] for r in results.values() if r["outcome"] == "PAID")
    return round(times[len(times) // 2], 1) if times else None


PATH_SQL = """
SELECT o.email, p.callback_at, p.settled_at
  FROM payments_swishpayment p JOIN orders_order o ON o.id = p.order_id
 WHERE o.status = 'PAID' AND p.status = 'PAID'
"""


def as_epoch(value) -> float | None:
    """A timestamp from the shop's database (a datetime from PostgreSQL,
    ISO text in UTC from SQLite) as seconds since the epoch."""
    from datetime import UTC, datetime

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def shop_rows(args, workdir: Path, sql: str) -> list:
    """The rows of ``sql`` in the run's database (PostgreSQL or the SQLite
    file); raises what the driver raises (an older schema: no such column)."""
    if args.database == "postgres":
        from benchlib import pg_connect

        with pg_connect(with_database(args.database_url, args.db_name)) as conn:
            return conn.execute(sql).fetchall()
    import sqlite3

    with sqlite3.connect(workdir / "db.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def spread(segments: dict[str, list[float]], digits: int) -> dict:
    """Per segment: how many, the median and the 95th percentile."""
    return {
        name: {
            "n": len(values),
            "median": round(sorted(values)[len(values) // 2], digits),
            "p95": round(p95(values), digits),
        }
        for name, values in segments.items()
        if values
    }


def payment_path(args, workdir: Path, results: dict) -> dict | None:
    """Where the time from a payer's approval to their page seeing PAID
    went, per paid buyer (medians and 95th percentiles, seconds):
    approval -> Swish's callback reached the shop (callback_at), callback ->
    the worker read Swish and settled the order (settled_at), settled ->
    the buyer's next status poll saw it. None when the code has no such
    columns (an older checkout)."""
    try:
        rows = shop_rows(args, workdir, PATH_SQL)
    except Exception:  # noqa: BLE001 (an old schema: no breakdown)
        return None
    by_email = {email: (as_epoch(cb), as_epoch(st)) for email, cb, st in rows}
    segments: dict[str, list[float]] = defaultdict(list)
    for r in results.values():
        if r["outcome"] != "PAID" or r["email"] not in by_email:
            continue
        callback, settled = by_email[r["email"]]
        if callback is not None:
            segments["approve_to_callback"].append(callback - r["approved_wall"])
            if settled is not None:
                segments["callback_to_settled"].append(settled - callback)
        if settled is not None:
            segments["approve_to_settled"].append(settled - r["approved_wall"])
            segments["settled_to_seen"].append(r["seen_wall"] - settled)
    return spread(segments, 2)


TASKS_SQL = """
SELECT enqueued_at, started_at, finished_at
  FROM django_tasks_database_dbtaskresult
 WHERE queue_name = 'swish-reads' AND started_at IS NOT NULL
"""


def read_tasks(args, workdir: Path) -> dict | None:
    """The worker's Swish reads as task runs (django-tasks-db's own
    timestamps): how long each waited in the queue and how long it ran
    (medians and 95th percentiles, seconds). None without such a queue."""
    try:
        rows = shop_rows(args, workdir, TASKS_SQL)
    except Exception:  # noqa: BLE001 (an old schema: no such queue)
        return None
    segments: dict[str, list[float]] = defaultdict(list)
    for enqueued, started, finished in rows:
        segments["queued"].append(as_epoch(started) - as_epoch(enqueued))
        if finished is not None:
            segments["ran"].append(as_epoch(finished) - as_epoch(started))
    return spread(segments, 3) or None


def simulator_calls(sim_base: str) -> dict | None:
    """The calls the simulator received per operation since it started
    counting (/swish-simulator/faults/), or None if it does not count."""
    try:
        response = requests.get(f"{sim_base}/swish-simulator/faults/", timeout=10)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    return {op: v["calls"] for op, v in response.json().items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    checkout = Path(args.checkout).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="bench-release-"))
    env = {
        **os.environ,
        "PORT": str(args.port),
        "SIM_PORT": str(args.sim_port),
        "APP_PORT": str(args.app_port),
        "TICKETSHOP_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
    }
    env.pop("SWISH_API_URL", None)
    if args.database == "postgres":
        pg_admin(
            args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)'
        )
        pg_admin(args.database_url, f'CREATE DATABASE "{args.db_name}"')
        env["DATABASE_URL"] = with_database(args.database_url, args.db_name)
    else:
        env.pop("DATABASE_URL", None)
    log = (workdir / "make-run.log").open("w")
    shop = subprocess.Popen(
        ["make", "run"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{args.port}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or shop.poll() is not None:
                raise SystemExit(
                    f"make run did not come up; see {workdir}/make-run.log"
                )
            time.sleep(0.5)
        try:
            requests.get(
                f"http://127.0.0.1:{args.sim_port}/swish-simulator/", timeout=2
            )
            args.sim_base = f"http://127.0.0.1:{args.sim_port}"
        except requests.RequestException:
            # The old code serves the simulator from the shop's own server.
            args.sim_base = f"http://127.0.0.1:{args.port}"
        events = {
            "ticket_types": [
                {"key": "standard", "title": "Standardbiljett", "price": "199"}
            ],
            "events": [
                {
                    "title": "Premiär",
                    "event_at": "+30d 19:00",
                    "sales_stop_at": "+30d 18:00",
                    "seats": args.seats,
                    "max_tickets_per_payment": 8,
                    "reservation_minutes": 15,
                    "swish_message": "Premiar",
                    "ticket_types": ["standard"],
                }
            ],
        }
        (workdir / "events.json").write_text(json.dumps(events))
        ids = json.loads(
            subprocess.run(
                [
                    str(checkout / ".venv/bin/python"),
                    "manage.py",
                    "import_events",
                    str(workdir / "events.json"),
                ],
                cwd=checkout,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        event = {"event": ids["events"][0], "standard": ids["ticket_types"]["standard"]}
        time.sleep(2)
        load_before = loadavg()
        cpu_before = cpu_seconds(shop.pid, args.sim_port)
        timings = Timings()
        results: dict = {}
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.buyers) as pool:
            for n in range(args.buyers):
                pool.submit(buyer, n, args, event, timings, start, results)
        flow_s = time.monotonic() - start
        cpu_after = cpu_seconds(shop.pid, args.sim_port)
        approved = {r["email"] for r in results.values() if r["choice"] == "approve"}
        mail_dir = workdir / "mail"
        last_mail_s = None
        while time.monotonic() - start < args.mail_deadline:
            counts = mails_by_address(mail_dir)
            if approved <= set(counts):
                break
            time.sleep(2)
        time.sleep(3)  # a duplicate would show by now
        counts = mails_by_address(mail_dir)
        files = list(mail_dir.iterdir()) if mail_dir.is_dir() else []
        wall_start = time.time() - (time.monotonic() - start)
        if files:
            last_mail_s = max(p.stat().st_mtime for p in files) - wall_start
        load_after = loadavg()
        outcomes = Counter(r["outcome"] for r in results.values())
        paid = {r["email"] for r in results.values() if r["outcome"] == "PAID"}
        swish_calls = simulator_calls(args.sim_base)
        reads = swish_calls.get("read_payment") if swish_calls else None
        report = {
            "database": args.database,
            "checkout": str(checkout),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=checkout,
                capture_output=True,
                text=True,
            ).stdout.strip(),
            "buyers": args.buyers,
            "seats": args.seats,
            "choices": dict(Counter(r["choice"] for r in results.values())),
            "outcomes": dict(outcomes),
            "approved": len(approved),
            "approved_and_paid": len(approved & paid),
            "approved_with_exactly_one_email": sum(
                1 for a in approved if counts[a] == 1
            ),
            "emails_to_others": sum(c for a, c in counts.items() if a not in approved),
            "statuses": {k: dict(v) for k, v in timings.statuses.items()},
            "5xx": sum(
                c for v in timings.statuses.values() for s, c in v.items() if s >= 500
            ),
            "p95_ms": {k: round(p95(v)) for k, v in timings.ms.items()},
            "calls": {k: len(v) for k, v in timings.ms.items()},
            "flow_s": round(flow_s, 1),
            # CPU seconds each kind of process used from the first arrival
            # until the last buyer's page saw its outcome.
            "cpu_s": {
                k: round(v - cpu_before.get(k, 0.0), 1)
                for k, v in sorted(cpu_after.items())
            },
            # When the buyers' pages saw the last PAID, after the first
            # arrival, and the median from the payer's approval to PAID.
            "last_paid_s": round(
                max(
                    (
                        r["seen_at_s"]
                        for r in results.values()
                        if r["outcome"] == "PAID"
                    ),
                    default=0.0,
                ),
                1,
            ),
            "median_approve_to_paid_s": median_settled(results),
            # The last PAID split: when its buyer approved (after the first
            # arrival; the reservation, the payment's start and 2-8 s in the
            # Swish app come before) and how long from there to PAID seen.
            "last_paid_split_s": last_paid_split(results),
            "payment_path_s": payment_path(args, workdir, results),
            "read_tasks_s": read_tasks(args, workdir),
            # Calls the simulator received, per operation (None: this
            # checkout's simulator does not count them).
            "swish_calls": swish_calls,
            "swish_reads_per_paid_order": (
                round(reads / len(paid), 2) if reads is not None and paid else None
            ),
            "last_email_s": round(last_mail_s, 1) if last_mail_s else None,
            "load_before": load_before,
            "load_after": load_after,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        os.killpg(shop.pid, signal.SIGINT)
        try:
            shop.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(shop.pid, signal.SIGKILL)
        drop_run(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
