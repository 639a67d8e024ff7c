#!/usr/bin/env python3
"""Queue benchmark: a fair release (random window) under a rush, end to end.

Starts the shop as `make run` does (Caddy, gunicorn, the Swish simulator's
own process, the task worker) on a fresh database and var directory; on
PostgreSQL --servers of them (default 2) share the database and the var
directory (one secret key), and every request goes to one of them at
random, so the queue's state must be shared. Imports one event of --seats
seats, sets its sale mode through the back office's use case
(`backoffice.services.set_release`), then lets --buyers buyers arrive evenly
within --arrival seconds. Each buyer joins the queue (one ticket), polls its
status at the interval the answer gives (randomised), and once admitted
reserves, starts the Swish payment and approves (--approve), declines
(--decline) or abandons it in the simulator; approvers poll the payment
status until PAID. With --mode first_come the same buyers skip the queue and
reserve directly (today's rush), for the fairness comparison.

Reported: 5xx answers (target 0), p50/p95/p99 per call (join and status
targets 200 ms and 100 ms), seats sold (exactly --seats), every approving
buyer PAID with one ticket e-mail, seconds until the last seat was paid,
database writes per status poll (PostgreSQL: rows inserted, updated or
deleted per pg_stat_user_tables, while 200 entries of a paused probe
release poll, net of the same time without polls), and fairness: per 10 s
of arrival, the share of buyers who reserved and the share of approvers who
ended PAID.

    .venv/bin/python bench/queue_release.py --database postgres   # 2 servers
    .venv/bin/python bench/queue_release.py --database sqlite     # 1 server
    .venv/bin/python bench/queue_release.py --database postgres --mode first_come

See bench/README.md, "queue_release".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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

import aiohttp
import requests
from benchlib import ROOT, drop_run, loadavg, pg_admin, pg_connect, with_database
from release import cpu_seconds

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

# The queue's API (docs/api-contract.md).
JOIN = "/api/queue/join/"
STATUS = "/api/queue/status/?chapter_event={event}"
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/queue/confirm/[A-Za-z0-9_-]+/)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--db-name", default="bench_queue_release")
    parser.add_argument(
        "--servers", type=int, default=0, help="app servers (default: 2 on PG, 1)"
    )
    parser.add_argument(
        "--mode", choices=["random_window", "first_come"], default="random_window"
    )
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--arrival", type=float, default=60.0, help="seconds")
    parser.add_argument(
        "--window",
        type=float,
        default=0.0,
        help="seconds from the sale's opening (the first arrival) to the "
        "window's close (default: --arrival + 2)",
    )
    parser.add_argument("--admit-seconds", type=int, default=120)
    parser.add_argument("--max-checking-out", type=int, default=150)
    parser.add_argument("--overbook", default="1.2")
    parser.add_argument("--hold-minutes", type=int, default=3)
    parser.add_argument("--approve", type=float, default=0.8)
    parser.add_argument("--decline", type=float, default=0.1)
    parser.add_argument(
        "--connections",
        type=int,
        default=1000,
        help="the client's connections open at once at most (all buyers share them)",
    )
    parser.add_argument("--port", type=int, default=8500, help="first server's port")
    parser.add_argument(
        "--checkout", default=str(ROOT), help="the code to run (its own .venv)"
    )
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds")
    parser.add_argument("--probe-entries", type=int, default=200)
    parser.add_argument("--probe-polls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if not args.servers:
        args.servers = 2 if args.database == "postgres" else 1
    if not args.window:
        args.window = args.arrival + 2
    return args


# --- Timing every call -----------------------------------------------------------


class Answer:
    """What the client keeps of an answer: its status, headers and body."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Timings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        # (when it was sent (monotonic), ms) of every answer, for by_period().
        self.sent: dict[str, list[tuple[float, float]]] = defaultdict(list)

    async def call(self, step: str, http, method: str, url: str, **kwargs):
        """One request on the event loop: an Answer, or None if it failed."""
        started = time.monotonic()
        try:
            async with http.request(method, url, **kwargs) as response:
                answer = Answer(
                    response.status, response.headers, await response.read()
                )
        except (TimeoutError, aiohttp.ClientError):
            answer = None
        self.record(step, started, answer)
        return answer

    def call_blocking(self, step: str, fn, *args, **kwargs):
        """One request with ``requests`` (the probe's threads)."""
        started = time.monotonic()
        try:
            response = fn(*args, **kwargs)
        except requests.RequestException:
            response = None
        self.record(step, started, response)
        return response

    def record(self, step: str, started: float, response) -> None:
        elapsed = (time.monotonic() - started) * 1000
        status = response.status_code if response is not None else 0
        error = ""
        if response is not None and status >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text[:60]
            # The contract's errors are {"error": ...}; some answers are a
            # bare JSON string.
            error = str(body.get("error", "") if isinstance(body, dict) else body)
        with self.lock:
            self.ms[step].append(elapsed)
            self.sent[step].append((started, elapsed))
            self.statuses[step][status] += 1
            if status >= 400 or status == 0:
                self.errors[step][f"{status} {error}".strip()] += 1


def by_period(
    sent: list[tuple[float, float]], origin: float, seconds: int = 30
) -> list[dict]:
    """Answers grouped by when they were sent (``seconds`` per group, from
    ``origin``): how many, and their p50 and p99 in ms; where in the run the
    slow answers are."""
    groups: dict[int, list[float]] = defaultdict(list)
    for started, ms in sent:
        groups[int((started - origin) // seconds)].append(ms)
    return [
        {
            "from_s": key * seconds,
            "n": len(values),
            "p50_ms": round(percentile(values, 0.5)),
            "p99_ms": round(percentile(values, 0.99)),
        }
        for key, values in sorted(groups.items())
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def retry_after(response, default: float = 2.0) -> float:
    try:
        return min(30.0, float(response.headers.get("Retry-After", default)))
    except (TypeError, ValueError):
        return default


# --- Buyers: one coroutine each, all on one event loop ----------------------------


class Buyer:
    def __init__(self, n: int, args, event: dict, timings: Timings, bases: list[str]):
        self.n = n
        self.args = args
        self.event = event
        self.timings = timings
        self.bases = bases
        self.rng = random.Random(args.seed * 100_003 + n)
        self.email = f"buyer{n}@example.com"
        self.http: aiohttp.ClientSession | None = None
        self.lag: list[float] = []
        self.arrival = n * args.arrival / args.buyers
        draw = self.rng.random()
        if draw < args.approve:
            self.choice = "approve"
        elif draw < args.approve + args.decline:
            self.choice = "decline"
        else:
            self.choice = "abandon"
        self.outcome: str | None = None
        self.reserved = False
        self.polls = 0
        self.admitted_after: float | None = None
        # How long after the confirmation e-mail arrives the buyer opens its
        # link (reading mail takes a moment), and whether it was opened.
        self.confirm_delay = self.rng.uniform(3, 20)
        self.confirmed = False
        # Seconds after the first arrival when the shop answered the join
        # (a slow answer can land after the window closed).
        self.joined_s: float | None = None

    def url(self, path: str) -> str:
        # Any server: the queue's state is shared, never one process's.
        return self.rng.choice(self.bases) + path

    async def call(self, step: str, method: str, path: str, **kwargs):
        return await self.timings.call(
            step, self.http, method, self.url(path), **kwargs
        )

    async def pause(self, seconds: float) -> None:
        """Sleep; how late the loop woke the buyer is the client's lag."""
        due = time.monotonic() + seconds
        await asyncio.sleep(seconds)
        self.lag.append(time.monotonic() - due)

    async def flow(self, connector: aiohttp.BaseConnector) -> None:
        # The buyer's own browser: its own cookies, the client's connections.
        self.http = aiohttp.ClientSession(
            connector=connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # 127.0.0.1 keeps cookies
            timeout=aiohttp.ClientTimeout(total=60),
        )
        try:
            arrives = self.args.started + self.arrival
            await self.pause(max(0.0, arrives - time.monotonic()))
            if self.args.mode == "random_window" and not await self.queue():
                return
            await self.buy()
        except Exception as exc:  # noqa: BLE001 - a buyer's bug is an outcome
            self.outcome = f"error {exc!r}"[:80]
        finally:
            await self.http.close()

    async def queue(self) -> bool:
        event = self.event["event"]
        body = {"chapter_event": event, "email": self.email, "tickets": 1}
        for _ in range(20):
            response = await self.call("join", "POST", JOIN, json=body)
            if response is not None and response.status_code in (429, 503):
                await self.pause(retry_after(response))
                continue
            break
        if response is None or response.status_code != 201:
            self.outcome = f"join {getattr(response, 'status_code', 0)}"
            return False
        self.joined_s = time.monotonic() - self.args.started
        answer = response.json()
        # The buyer opens the e-mailed confirmation link 3-20 s after it
        # arrives (whenever the shop sends it); an admitted buyer reserves at
        # once, and confirms before paying (buy).
        while True:
            await self.maybe_confirm()
            if answer.get("may_reserve"):
                self.admitted_after = time.monotonic()
                return True
            if answer.get("state") != "waiting":
                self.outcome = f"queue {answer.get('state')}"
                return False
            await self.pause(self.poll_delay(answer, response))
            response = await self.call("status", "GET", STATUS.format(event=event))
            self.polls += 1
            if response is None or response.status_code != 200:
                if response is None or response.status_code in (429, 500, 502, 503):
                    continue
                self.outcome = f"status {response.status_code}"
                return False
            answer = response.json()

    async def maybe_confirm(self) -> None:
        """Open the link once it came and the buyer's own delay passed."""
        if self.confirmed:
            return
        came = self.args.mail.confirm_link(self.email)
        if came is None or time.monotonic() < came[1] + self.confirm_delay:
            return
        response = await self.call("confirm", "GET", came[0])
        self.confirmed = response is not None and response.status_code == 200

    def poll_delay(self, answer: dict, response) -> float:
        """The answer's own interval if it gives one, else 2-5 s; randomised."""
        seconds = answer.get("poll_after_seconds")
        if not seconds and response is not None and "Retry-After" in response.headers:
            seconds = retry_after(response)
        seconds = float(seconds or 3.0)
        return seconds * self.rng.uniform(0.8, 1.2)

    async def buy(self) -> None:
        body = {
            "chapter_event": self.event["event"],
            "tickets": [{"ticket_type": self.event["standard"], "count": 1}],
        }
        for _ in range(30):
            response = await self.call("reserve", "POST", "/reserve_ticket/", json=body)
            if response is None or response.status_code != 503:
                break
            await self.pause(retry_after(response))
        if response is None or response.status_code != 201:
            self.outcome = f"reserve {getattr(response, 'status_code', 0)}"
            return
        self.reserved = True
        give_up = time.monotonic() + 300
        while time.monotonic() < give_up:
            response = await self.call(
                "start_payment",
                "POST",
                "/start_payment/",
                json={"email_address": self.email},
            )
            if response is not None and response.status_code in (500, 503):
                await self.pause(retry_after(response))
                continue
            if response is not None and response.status_code == 403:
                if response.json() == "ConfirmationRequired":
                    # As the pay page asks: open the e-mailed link (once it
                    # came and was read), then press Pay again.
                    while not self.confirmed and time.monotonic() < give_up:
                        await self.maybe_confirm()
                        if not self.confirmed:
                            await self.pause(1.0)
                    continue
            break
        if response is None or response.status_code != 200:
            self.outcome = f"start {getattr(response, 'status_code', 0)}"
            return
        token = response.json()
        await self.pause(self.rng.uniform(2, 8))  # opening Swish, BankID
        if self.choice == "abandon":
            self.outcome = "abandoned"
            return
        await self.timings.call(
            "payer " + self.choice,
            self.args.payer_http,
            "POST",
            f"{self.args.sim_base}/swish-simulator/pay/{token}/",
            data={"action": self.choice},
            allow_redirects=False,
        )
        # As the pay page does once the buyer is back from the Swish app.
        delay, waited = 1.0, 0.0
        while waited < 300:
            await self.pause(delay)
            waited += delay
            response = await self.call(
                "payment_status", "GET", "/session_payment_status/"
            )
            if response is not None and response.status_code == 200:
                answer = response.json()
                if answer["status"] != "RESERVED" or not answer["payment_pending"]:
                    self.outcome = answer["status"]
                    return
            delay = min(delay * 1.5, 10.0)
        self.outcome = "still pending"


async def run_buyers(buyers: list[Buyer], args) -> None:
    """Every buyer a coroutine on one event loop (one thread): a browser per
    buyer costs the client almost nothing while it waits, so the client's
    own delay (``client_lag_s``) stays out of the shop's figures. Buyers
    still running at --deadline are stopped."""
    connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=0)
    args.payer_http = aiohttp.ClientSession(
        connector=connector,
        connector_owner=False,
        timeout=aiohttp.ClientTimeout(total=60),
    )
    tasks = [asyncio.ensure_future(b.flow(connector)) for b in buyers]
    try:
        _, running = await asyncio.wait(tasks, timeout=args.deadline)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
    finally:
        await args.payer_http.close()
        await connector.close()


# --- The shop's processes and its database -------------------------------------


class Shop:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.checkout = Path(args.checkout).resolve()
        self.workdir = workdir
        self.env = {
            **os.environ,
            "TICKETSHOP_VAR_DIR": str(workdir),
            "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
        }
        self.env.pop("SWISH_API_URL", None)
        self.env.pop("REDIS_URL", None)
        if args.database == "postgres":
            self.env["DATABASE_URL"] = with_database(args.database_url, args.db_name)
        else:
            self.env.pop("DATABASE_URL", None)
        self.processes: list[subprocess.Popen] = []
        self.bases: list[str] = []

    def start(self) -> None:
        for i in range(self.args.servers):
            port = self.args.port + 10 * i
            env = {
                **self.env,
                "PORT": str(port),
                "SIM_PORT": str(port + 1),
                "APP_PORT": str(port + 2),
            }
            log = (self.workdir / f"make-run-{i}.log").open("w")
            process = subprocess.Popen(
                ["make", "run"],
                cwd=self.checkout,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            self.processes.append(process)
            base = f"http://127.0.0.1:{port}"
            self.wait_up(base, process, i)
            self.bases.append(base)

    def wait_up(self, base: str, process, i: int) -> None:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(
                    f"make run did not come up; see {self.workdir}/make-run-{i}.log"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGINT)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def django(self, code: str) -> str:
        """Run ``code`` in the shop's Django (manage.py shell); its stdout."""
        return subprocess.run(
            [str(self.checkout / ".venv/bin/python"), "manage.py", "shell", "-c", code],
            cwd=self.checkout,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def import_event(self, title: str, seats: int) -> dict:
        events = {
            "ticket_types": [
                {"key": "standard", "title": "Standardbiljett", "price": "199"}
            ],
            "events": [
                {
                    "title": title,
                    "event_at": "+30d 19:00",
                    "sales_stop_at": "+30d 18:00",
                    "seats": seats,
                    "max_tickets_per_payment": 8,
                    "reservation_minutes": self.args.hold_minutes,
                    "swish_message": "Premiar",
                    "ticket_types": ["standard"],
                }
            ],
        }
        path = self.workdir / f"events-{seats}.json"
        path.write_text(json.dumps(events))
        ids = json.loads(
            subprocess.run(
                [
                    str(self.checkout / ".venv/bin/python"),
                    "manage.py",
                    "import_events",
                    str(path),
                ],
                cwd=self.checkout,
                env=self.env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        return {"event": ids["events"][0], "standard": ids["ticket_types"]["standard"]}

    def set_release(self, event_id: int, *, opens_in: float, window: float) -> None:
        """The organiser's choice, through the back office's use case."""
        a = self.args
        self.django(
            "from datetime import timedelta\n"
            "from decimal import Decimal\n"
            "from django.utils import timezone\n"
            "from ticketshop.backoffice import services\n"
            "now = timezone.now()\n"
            f"opens = now + timedelta(seconds={opens_in})\n"
            "services.set_release(user=None, username='bench', "
            f"event_id={event_id}, settings=services.ReleaseSettings("
            "mode='random_window', queue_opens_at=now, sale_opens_at=opens, "
            f"window_closes_at=opens + timedelta(seconds={window}), "
            f"admit_seconds={a.admit_seconds}, max_checking_out={a.max_checking_out}, "
            f"overbook_factor=Decimal('{a.overbook}')))\n"
        )

    def pause(self, event_id: int, paused: bool) -> None:
        self.django(
            "from ticketshop.backoffice import services\n"
            f"services.pause_release(user=None, username='bench', event_id={event_id}, "
            f"paused={paused})\n"
        )

    def figures(self, event_id: int) -> dict:
        """Seats sold and when the last one was paid, from the database."""
        out = self.django(
            "import json\n"
            "from django.db.models import Max\n"
            "from ticketshop.orders.models import Order, OrderStatus, Ticket\n"
            f"paid = Order.objects.filter(event_id={event_id}, "
            "status=OrderStatus.PAID)\n"
            "sold = Ticket.objects.filter(order__in=paid, cancelled_at__isnull=True)"
            ".count()\n"
            "last = paid.aggregate(m=Max('paid_at'))['m']\n"
            "print(json.dumps({'sold': sold, 'paid_orders': paid.count(), "
            "'last_paid': last.timestamp() if last else None}))\n"
        )
        return json.loads(out.strip().splitlines()[-1])


class CpuWatch:
    """CPU seconds per kind of process (``release.cpu_seconds``: app servers,
    worker, simulator, Caddy, PostgreSQL, this client), summed over the
    servers' ``make run`` sessions, per 10 s for the first 240 s, and per
    30 s for the first 120 s."""

    def __init__(self, shop, sim_ports: list[int]):
        self.shop = shop
        self.sim_ports = sim_ports
        self.start = self.read()
        # What the processes had used by each 10 s from the start.
        self.reads: list[dict[str, float]] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def read(self) -> dict[str, float]:
        used: dict[str, float] = defaultdict(float)
        for process, port in zip(self.shop.processes, self.sim_ports, strict=True):
            for kind, seconds in cpu_seconds(process.pid, port).items():
                if kind in ("postgres", "client") and kind in used:
                    continue  # machine-wide: counted once
                used[kind] += seconds
        return used

    def run(self) -> None:
        for _ in range(24):
            time.sleep(10)
            self.reads.append(self.read())

    def periods(self, seconds: int, until: int) -> list[dict[str, float]]:
        """CPU seconds per ``seconds`` (a multiple of 10) up to ``until``."""
        step = seconds // 10
        marks = [self.start, *self.reads[step - 1 : until // 10 : step]]
        return [
            {k: round(v - last.get(k, 0.0), 1) for k, v in sorted(now.items())}
            for last, now in itertools.pairwise(marks)
        ]

    def total(self) -> dict[str, float]:
        now = self.read()
        return {k: round(v - self.start.get(k, 0.0), 1) for k, v in sorted(now.items())}


class MailWatcher:
    """Reads the e-mails the shop writes (file backend) as they come: the
    confirmation link per address and when it was first seen (at most a
    second after the shop wrote it), for the buyers to open."""

    def __init__(self, mail_dir: Path):
        self.mail_dir = mail_dir
        # Bytes read of each file: Django's file backend names a file by
        # the second and the backend object's id, and appends to it, so a
        # later message can land in a file already read.
        self.seen: dict[str, int] = {}
        self.links: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.scan()

    def scan(self) -> None:
        if not self.mail_dir.is_dir():
            return
        for path in self.mail_dir.iterdir():
            try:
                if path.stat().st_size == self.seen.get(path.name):
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            text = data.decode(errors="replace")
            if not text.rstrip().endswith("-" * 79):
                continue  # still being written
            self.seen[path.name] = len(data)
            for message in text.split("\n" + "-" * 79 + "\n"):
                link = CONFIRM_LINK.search(message)
                to = re.search(r"^To: (\S+)$", message, re.MULTILINE)
                if link and to:
                    with self.lock:
                        self.links.setdefault(
                            to.group(1), (link.group(1), time.monotonic())
                        )

    def confirm_link(self, email: str) -> tuple[str, float] | None:
        """(the link's path, when it was seen; monotonic), or None."""
        with self.lock:
            return self.links.get(email)


def ticket_mails(mail_dir: Path) -> Counter:
    """Ticket e-mails (those with the PDF) per address, from the file backend."""
    counts: Counter = Counter()
    if not mail_dir.is_dir():
        return counts
    for path in mail_dir.iterdir():
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        # Django's file backend ends each message with a line of 79 dashes.
        for message in text.split("\n" + "-" * 79 + "\n"):
            if "application/pdf" not in message:
                continue
            found = re.search(r"^To: (\S+)$", message, re.MULTILINE)
            if found:
                counts[found.group(1)] += 1
    return counts


# --- Database writes per status poll (PostgreSQL) ------------------------------


def pg_writes(url: str) -> dict[str, int]:
    with pg_connect(url) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
        ).fetchall()
    return {name: int(count) for name, count in rows}


def diff(after: dict, before: dict) -> dict[str, int]:
    return {
        k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)
    }


def probe_status_writes(args, shop: Shop, timings: Timings) -> dict:
    """200 entries of a paused release poll; the rows written meanwhile,
    net of an equally long stretch without polls."""
    event = shop.import_event("Mätning", 10)
    shop.set_release(event["event"], opens_in=0, window=15)
    sessions = []
    for n in range(args.probe_entries):
        http = requests.Session()
        http.post(
            shop.bases[n % len(shop.bases)] + JOIN,
            json={
                "chapter_event": event["event"],
                "email": f"probe{n}@example.com",
                "tickets": 1,
            },
            timeout=60,
        )
        sessions.append(http)
    time.sleep(20)  # the window closes, the worker draws and admits the first
    shop.pause(event["event"], True)
    time.sleep(5)
    url = shop.env["DATABASE_URL"]
    # Statistics reach pg_stat_* within about 1 s of a transaction's end
    # (10 s for an idle backend): wait longer than that around each stretch.
    time.sleep(12)
    s0 = pg_writes(url)
    quiet_from = time.monotonic()
    time.sleep(10)
    quiet = time.monotonic() - quiet_from
    time.sleep(12)
    s1 = pg_writes(url)
    polls_from = time.monotonic()
    path = STATUS.format(event=event["event"])
    rng = random.Random(args.seed)
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(
            pool.map(
                lambda i: timings.call_blocking(
                    "probe status",
                    sessions[i % len(sessions)].get,
                    rng.choice(shop.bases) + path,
                    timeout=60,
                ),
                range(args.probe_polls),
            )
        )
    polling = time.monotonic() - polls_from
    time.sleep(max(0.0, quiet - polling) + 12)
    s2 = pg_writes(url)
    for http in sessions:
        http.close()
    baseline = diff(s1, s0)
    during = diff(s2, s1)
    net = sum(during.values()) - sum(baseline.values())
    return {
        "polls": args.probe_polls,
        "seconds_polling": round(polling, 1),
        "rows_written_without_polls": baseline,
        "rows_written_while_polling": during,
        "writes_per_poll": round(net / args.probe_polls, 4),
    }


# --- The run ---------------------------------------------------------------------


def fairness(buyers: list[Buyer], bucket: float) -> list[dict]:
    rows = defaultdict(lambda: Counter())
    for b in buyers:
        key = int(b.arrival // bucket)
        rows[key]["arrived"] += 1
        rows[key]["reserved"] += b.reserved
        if b.choice == "approve":
            rows[key]["approvers"] += 1
            rows[key]["approvers_paid"] += b.outcome == "PAID"
    return [
        {
            "from_s": round(k * bucket),
            "arrived": c["arrived"],
            "reserved_share": round(c["reserved"] / c["arrived"], 3),
            "approvers_paid_share": round(c["approvers_paid"] / c["approvers"], 3)
            if c["approvers"]
            else None,
        }
        for k, c in sorted(rows.items())
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    if args.database == "postgres":
        pg_admin(
            args.database_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)'
        )
        pg_admin(args.database_url, f'CREATE DATABASE "{args.db_name}"')
    shop = Shop(args, workdir)
    try:
        shop.start()
        sim = shop.bases[0].rsplit(":", 1)[0] + f":{args.port + 1}"
        args.sim_base = sim
        event = shop.import_event("Premiär", args.seats)
        if args.mode == "random_window":
            # The queue opens now; the sale opens with the first arrival.
            shop.set_release(event["event"], opens_in=5, window=args.window)
            time.sleep(5)
        else:
            time.sleep(2)
        timings = Timings()
        args.mail = MailWatcher(workdir / "mail")
        args.mail.thread.start()
        buyers = [
            Buyer(n, args, event, timings, shop.bases) for n in range(args.buyers)
        ]
        load_before = loadavg()
        wall_start = time.time()
        cpu = CpuWatch(shop, [args.port + 10 * i + 1 for i in range(args.servers)])
        start = args.started = time.monotonic()
        cpu.thread.start()
        asyncio.run(run_buyers(buyers, args))
        lag = [x for b in buyers for x in b.lag]
        flow_s = time.monotonic() - start
        approved = {b.email for b in buyers if b.choice == "approve"}
        paid = {b.email for b in buyers if b.outcome == "PAID"}
        mail_dir = workdir / "mail"
        while time.monotonic() - start < args.deadline + 120:
            if paid <= set(ticket_mails(mail_dir)):
                break
            time.sleep(2)
        time.sleep(3)  # a duplicate would show by now
        counts = ticket_mails(mail_dir)
        load_after = loadavg()
        figures = shop.figures(event["event"])
        probe = None
        if args.database == "postgres" and args.mode == "random_window":
            probe = probe_status_writes(args, shop, timings)
        report = {
            "database": args.database,
            "servers": args.servers,
            "mode": args.mode,
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=shop.checkout,
                capture_output=True,
                text=True,
            ).stdout.strip(),
            "buyers": args.buyers,
            "arrival_s": args.arrival,
            "seats": args.seats,
            "seats_sold": figures["sold"],
            "paid_orders": figures["paid_orders"],
            "last_seat_paid_s": round(figures["last_paid"] - wall_start, 1)
            if figures["last_paid"]
            else None,
            "choices": dict(Counter(b.choice for b in buyers)),
            "outcomes": dict(Counter(b.outcome for b in buyers).most_common(12)),
            "admitted_and_approved": sum(
                1 for b in buyers if b.reserved and b.choice == "approve"
            ),
            "admitted_approvers_paid_with_one_email": sum(
                1
                for b in buyers
                if b.reserved
                and b.choice == "approve"
                and b.outcome == "PAID"
                and counts[b.email] == 1
            ),
            "ticket_emails_to_others": sum(
                c for a, c in counts.items() if a not in approved
            ),
            "5xx": sum(
                c for v in timings.statuses.values() for s, c in v.items() if s >= 500
            ),
            # Of them, the payment start's designed 503 "Busy" (the Swish
            # bound; the client retries after its Retry-After).
            "5xx_busy": sum(
                c
                for v in timings.errors.values()
                for e, c in v.items()
                if e.startswith("503 Busy")
            ),
            # The buyers' joins and status polls by when they were sent.
            "join_by_30s": by_period(timings.sent["join"], args.started),
            "join_by_5s": by_period(timings.sent["join"], args.started, 5),
            # CPU seconds per kind of process, per 30 s from the first
            # arrival (the first four periods) and in all (until the client
            # stopped); how many confirmation e-mails were written.
            "cpu_s_by_30s": cpu.periods(30, 120),
            "cpu_s_by_10s": cpu.periods(10, 240),
            "cpu_s": cpu.total(),
            "confirmation_emails": len(args.mail.links),
            "status_by_30s": by_period(timings.sent["status"], args.started),
            "status_by_10s": by_period(timings.sent["status"], args.started, 10),
            # The admitted buyers' steps, by when they were sent.
            "checkout_by_10s": {
                step: by_period(timings.sent[step], args.started, 10)
                for step in ("confirm", "reserve", "start_payment", "payment_status")
            },
            "statuses": {k: dict(v) for k, v in timings.statuses.items()},
            "errors": {k: dict(v) for k, v in timings.errors.items()},
            "calls": {k: len(v) for k, v in timings.ms.items()},
            "p50_ms": {k: round(percentile(v, 0.5)) for k, v in timings.ms.items()},
            "p95_ms": {k: round(percentile(v, 0.95)) for k, v in timings.ms.items()},
            "p99_ms": {k: round(percentile(v, 0.99)) for k, v in timings.ms.items()},
            "client": f"asyncio, {args.connections} connections at most",
            # How late the client's event loop woke the buyers for their
            # steps (s): the share of any delay that is the client's.
            "client_lag_s": {
                "p50": round(percentile(lag, 0.5), 2),
                "p99": round(percentile(lag, 0.99), 2),
                "max": round(max(lag), 2),
            }
            if lag
            else None,
            "status_polls_per_buyer": round(
                sum(b.polls for b in buyers) / len(buyers), 1
            ),
            "flow_s": round(flow_s, 1),
            "fairness_per_10s": fairness(buyers, 10.0),
            "joined_after_the_window": sum(
                1 for b in buyers if (b.joined_s or 0) >= args.window
            ),
            "join_answered_s": {
                "p50": round(percentile(joined, 0.5), 1),
                "max": round(max(joined), 1),
            }
            if (joined := [b.joined_s for b in buyers if b.joined_s is not None])
            else None,
            "status_writes": probe,
            "load_before": load_before,
            "load_after": load_after,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        print(json.dumps(report, indent=2))
        (workdir / "report.json").write_text(json.dumps(report, indent=2))
        return 0
    finally:
        shop.stop()
        drop_run(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
