"""Real processes for the fault suite: a throw-away PostgreSQL cluster,
gunicorn app servers, task workers, an SMTP server, and buyers over HTTP.

Everything listens on 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def log(message: str) -> None:
    """What the fault tests did and counted (shown with pytest -s or on failure)."""
    print(f"[fault] {message}", flush=True)


class PgCluster:
    """A PostgreSQL cluster of its own, on a free port, in a temporary folder.

    Never the developer's main server: initdb makes a fresh one that the test
    may stop, kill and restart at will.
    """

    def __init__(self, workdir: Path):
        self.bindir = pg_bindir()
        self.dir = workdir / "pgdata"
        self.socket_dir = workdir / "pgsock"
        self.port = free_port()
        self.logfile = workdir / "postgres.log"
        # initdb refuses to run as root: run the cluster as "postgres" then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        for path in (workdir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            if self.as_user:
                shutil.chown(path, "postgres", "postgres")
        self.logfile.touch()
        if self.as_user:
            shutil.chown(self.logfile, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.dir),
            "-o",
            options,
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.dir),
            "-m",
            mode,
            "-w",
            "-t",
            "60",
            "stop",
            check=False,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-At",
                "-d",
                self.url(database),
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()


def shop_env(*, database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SWISH_", "PYTEST", "REDIS_URL"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "TICKETSHOP_VAR_DIR": str(workdir / "var"),
            "DJANGO_SECRET_KEY": "fault-suite-secret-key-" + "x" * 30,
            "SWISH_ENVIRONMENT": "simulator",
            "EMAIL_URL": "consolemail://",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "60",
            # The workers read open payments from Swish soon and often (not
            # 15-30 s, then backing off to 2 min): the scenarios are short.
            "SWISH_READ_AFTER_SECONDS": "0.5",
            "SWISH_READ_MAX_INTERVAL_SECONDS": "1",
            "SWISH_POLL_INTERVAL_SECONDS": "0.5",
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def prepare_shop(env: dict[str, str], workdir: Path, *, seats: int) -> dict:
    """Migrate an empty database and import one event; return its ids."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "createcachetable")
    events = {
        "ticket_types": [{"key": "std", "title": "Standard", "price": "100"}],
        "events": [
            {
                "title": "Rush",
                "event_at": "+30d 19:00",
                "sales_stop_at": "+29d 19:00",
                "seats": seats,
                "max_tickets_per_payment": 8,
                "reservation_minutes": 15,
                "ticket_types": ["std"],
            }
        ],
    }
    path = workdir / "events.json"
    path.write_text(json.dumps(events))
    out = manage(env, "import_events", str(path))
    ids = json.loads(out.strip().splitlines()[-1])
    return {"event": ids["events"][0], "ticket_type": ids["ticket_types"]["std"]}


class Process:
    """A subprocess with its log file."""

    def __init__(self, name: str, cmd: list[str], env: dict, workdir: Path):
        self.name = name
        self.logpath = workdir / f"{name}.log"
        self._log = self.logpath.open("ab")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn's master and workers)."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def tail(self, lines: int = 40) -> str:
        text = self.logpath.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class AppServer(Process):
    def __init__(
        self,
        name: str,
        env: dict,
        workdir: Path,
        *,
        threads: int = 4,
        port: int | None = None,
    ):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # GUNICORN_THREADS: what the shop derives its bound on Swish calls
        # in flight from, as deploy/gunicorn.conf.py's threads.
        env = {**env, "PUBLIC_BASE_URL": self.base, "GUNICORN_THREADS": str(threads)}
        super().__init__(
            name,
            [
                str(BIN / "gunicorn"),
                "ticketshop.wsgi",
                f"--bind=127.0.0.1:{self.port}",
                "--workers=1",
                f"--threads={threads}",
                "--timeout=60",
                "--graceful-timeout=5",
                "--no-control-socket",
            ],
            env,
            workdir,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.tail()}")
            try:
                if requests.get(f"{self.base}/healthz?scope=web", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready:\n{self.tail()}")


class SwishServer(AppServer):
    """The Swish simulator as a server of its own, as Swish is to the shop.

    App servers started with ``swish_env(env, swish)`` call it over HTTP
    (so a shop server never waits on its own threads for "Swish")."""

    def __init__(
        self, env: dict, workdir: Path, *, port: int | None = None, threads: int = 8
    ):
        super().__init__("swish", env, workdir, threads=threads, port=port)

    @property
    def api_url(self) -> str:
        return f"{self.base}/swish-simulator/swish-cpcapi/api/"


def with_swish(env: dict, swish: SwishServer) -> dict:
    """Point an app server at the Swish server. The simulator calls back only
    the shop's own callback URL (as its settings give it), so every server
    names the same one, as servers behind one address do: the Swish server's
    own, which is a shop server too (same database) and re-reads the request
    from Swish like any other."""
    return {
        **env,
        "SWISH_API_URL": swish.api_url,
        "SWISH_CALLBACK_URL": f"{swish.base}/swish/callback/",
    }


class Worker(Process):
    def __init__(self, name: str, env: dict, workdir: Path):
        super().__init__(
            name,
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "run_worker",
                "--queue-name",
                "*",
                "--interval",
                "0.2",
                "--worker-id",
                name,
            ],
            env,
            workdir,
        )


@dataclass
class Tally:
    """What the buyers saw, counted under a lock."""

    statuses: Counter = field(default_factory=Counter)
    server_errors: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    errors: list[str] = field(default_factory=list)
    # What the first few connection failures said (a test's message).
    connection_failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, code: int | str, seconds: float) -> None:
        with self.lock:
            self.statuses[code] += 1
            self.slowest = max(self.slowest, seconds)

    def outcome(self, name: str) -> None:
        with self.lock:
            self.outcomes[name] += 1


def timed(tally: Tally, method, url: str, **kwargs):
    """One request; connection failures count as "conn" (the server is gone)."""
    start = time.monotonic()
    try:
        response = method(url, timeout=kwargs.pop("timeout", 15), **kwargs)
    except requests.Timeout:
        tally.status("timeout", time.monotonic() - start)
        return None
    except requests.ConnectionError as failure:
        tally.status("conn", time.monotonic() - start)
        with tally.lock:
            if len(tally.connection_failures) < 5:
                tally.connection_failures.append(f"{url}: {failure}"[:300])
        return None
    tally.status(response.status_code, time.monotonic() - start)
    # 503 "Busy" with Retry-After is the contract's answer when the bound on
    # payment starts (or the seat lock) is reached: shedding, not a fault.
    busy = (
        response.status_code == 503
        and response.text.strip() == '"Busy"'
        and "Retry-After" in response.headers
    )
    if response.status_code >= 500 and not busy:
        path = "/" + url.split("/", 3)[3].split("/", 1)[0]
        with tally.lock:
            tally.server_errors[(response.status_code, path, response.text[:40])] += 1
    return response


def buy(
    *,
    servers: list[str],
    first: int,
    ids: dict,
    email: str,
    tally: Tally,
    deadline: float,
    swish: str | None = None,
    pay: bool = True,
) -> str:
    """One buyer: reserve a ticket, pay through the simulator, wait for PAID.

    Requests go round-robin over ``servers`` starting at ``first``; a
    server that cannot be reached, or a 503, is retried on the next one
    until ``deadline``. Returns the buyer's outcome.
    """
    session = requests.Session()
    # A connection per request, as the scanners of the many-servers test do:
    # on a kept-alive connection, a request sent just as gunicorn closes it
    # for idling (its 2 s keepalive, easily reached on a loaded machine)
    # meets "connection reset by peer". A browser resends such a request;
    # requests does not (CI met it twice, under the other lanes' load).
    session.headers["Connection"] = "close"
    turn = first

    def next_base() -> str:
        nonlocal turn
        turn += 1
        return servers[turn % len(servers)]

    body = {
        "chapter_event": str(ids["event"]),
        "tickets": [{"ticket_type": str(ids["ticket_type"]), "count": 1}],
    }
    while True:
        if time.monotonic() > deadline:
            return "gave_up"
        response = timed(
            tally, session.post, f"{next_base()}/reserve_ticket/", json=body
        )
        if response is None or response.status_code == 503:
            time.sleep(0.2)
            continue
        if response.status_code == 403 and "OutOfTickets" in response.text:
            return "sold_out"
        if response.status_code not in (200, 201):
            tally.errors.append(f"reserve {response.status_code} {response.text[:80]}")
            return "error"
        break
    if not pay:
        return "reserved"
    token = None
    while token is None:
        if time.monotonic() > deadline:
            return "gave_up_paying"
        response = timed(
            tally,
            session.post,
            f"{next_base()}/start_payment/",
            json={"email_address": email},
        )
        if response is None or response.status_code in (500, 503):
            time.sleep(0.3)
            continue
        if response.status_code != 200:
            tally.errors.append(f"start {response.status_code} {response.text[:80]}")
            return "error"
        token = response.json()
    while True:
        if time.monotonic() > deadline:
            return "gave_up_approving"
        response = timed(
            tally,
            session.post,
            f"{swish or next_base()}/swish-simulator/pay/{token}/",
            data={"action": "approve"},
            allow_redirects=False,
        )
        if response is not None and response.status_code < 500:
            break
        time.sleep(0.3)
    while time.monotonic() < deadline:
        response = timed(tally, session.get, f"{next_base()}/session_payment_status/")
        if response is not None and response.status_code == 200:
            state = response.json()["status"]
            if state == "PAID":
                return "paid"
            if state.startswith("FAILED"):
                return state.lower()
        time.sleep(0.5)
    return "gave_up_waiting"


def run_buyers(
    n: int, *, servers: list[str], ids: dict, tally: Tally, seconds: float, **kw
) -> list[str]:
    """Run n buyers in 16 threads; return each buyer's outcome."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [
            pool.submit(
                buy,
                servers=servers,
                first=i,
                ids=ids,
                email=f"buyer{i}@example.org",
                tally=tally,
                deadline=deadline,
                **kw,
            )
            for i in range(n)
        ]
        results = [f.result() for f in futures]
    for result in results:
        tally.outcome(result)
    return results


class Shop:
    """A Swish server, app servers and workers on one database."""

    def __init__(
        self, env, workdir, *, servers=2, workers=1, swish_env=None, swish_threads=8
    ):
        self.env = env
        self.workdir = workdir
        self.swish = SwishServer(
            {**env, **(swish_env or {})}, workdir, threads=swish_threads
        )
        shop_env_ = with_swish(env, self.swish)
        self.servers = [
            AppServer(f"web{i}", shop_env_, workdir) for i in range(servers)
        ]
        self.workers = [
            Worker(f"worker{i}", shop_env_, workdir) for i in range(workers)
        ]
        for server in (self.swish, *self.servers):
            server.wait_ready()

    @property
    def bases(self):
        return [s.base for s in self.servers]

    def buy(self, n: int, ids: dict, tally: Tally, seconds: float) -> list[str]:
        """n buyers, round-robin over the app servers, paying through this
        shop's Swish server; each buyer's outcome."""
        return run_buyers(
            n,
            servers=self.bases,
            ids=ids,
            tally=tally,
            seconds=seconds,
            swish=self.swish.base,
        )

    def buy_in_background(self, n: int, ids: dict, tally: Tally, seconds: float):
        """``buy`` in a thread: (the thread, the list its outcomes fill)."""
        results = []
        thread = threading.Thread(
            target=lambda: results.extend(self.buy(n, ids, tally, seconds))
        )
        thread.start()
        return thread, results

    def stop(self):
        for process in (self.swish, *self.servers, *self.workers):
            process.stop()


class Smtp:
    """A real SMTP server (aiosmtpd) on a free port, recording each message's
    recipients. ``hold_rcpt`` seconds of delay on the first ``hold_count``
    RCPT commands stand for a slow server (a worker can be killed there,
    before the message was transmitted)."""

    def __init__(self, *, hold_rcpt: float = 0.0, hold_count: int = 0):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.received: list[str] = []
        self.rcpt_seen = threading.Event()
        self.hold_rcpt = hold_rcpt
        self.hold_left = hold_count
        self._lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
                import asyncio

                with outer._lock:
                    hold = outer.hold_left > 0
                    outer.hold_left -= 1
                if hold:
                    outer.rcpt_seen.set()
                    await asyncio.sleep(outer.hold_rcpt)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                with outer._lock:
                    outer.received.extend(envelope.rcpt_tos)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.received)


def wait_until(predicate, *, seconds: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def sold_and_paid(cluster: PgCluster, database: str) -> dict:
    """Counts straight from the database."""
    row = cluster.psql(
        "SELECT"
        " (SELECT count(*) FROM orders_ticket t"
        "  JOIN orders_order o ON o.id = t.order_id WHERE o.status = 'PAID'),"
        " (SELECT count(*) FROM orders_order WHERE status = 'PAID'),"
        " (SELECT count(*) FROM delivery_ticketdelivery WHERE status = 'SENT'),"
        " (SELECT coalesce(sum(times_sent), 0) FROM delivery_ticketdelivery),"
        " (SELECT count(*) FROM orders_ticket t"
        "  JOIN orders_order o ON o.id = t.order_id WHERE o.status = 'RESERVED')",
        database,
    )
    tickets, orders, sent, times_sent, held = (int(x) for x in row.split("|"))
    return {
        "held_tickets": held,
        "paid_tickets": tickets,
        "paid_orders": orders,
        "emails_sent": sent,
        "times_sent": times_sent,
    }


def settled(
    cluster: PgCluster,
    database: str,
    *,
    workers: list[str],
    after: float = 0.0,
    jobs: tuple[str, ...] = (),
    seconds: float = 90,
) -> str:
    """Wait until the workers have had their chance to do anything more, so
    that "nothing more happened" can be asserted next: a positive signal in
    the database, never a fixed pause.

    From a mark ``after`` seconds ahead of now (the longest lease or retry
    delay that could still make something happen), each of ``workers`` has
    beaten its heartbeat after the mark (a whole upkeep pass began after
    it); each periodic job in ``jobs`` (an ops lease, e.g. the requeue of
    lapsed e-mail leases) ran after the mark, and its worker began another
    pass after that run (so the run is committed); and the task queue is
    drained: no task due by the mark still waiting, none running on a live
    worker (a SIGKILLed worker's task stays RUNNING for good). Fails the
    test after ``seconds``; returns the mark, for the log.
    """
    mark = cluster.psql(f"SELECT now() + interval '{float(after)} seconds'", database)
    names = ", ".join(f"'{name}'" for name in workers)
    job_names = ", ".join(f"'{name}'" for name in jobs) or "NULL"
    # Worker and job names and a timestamp of our own: no outside input.
    query = (
        "SELECT"  # noqa: S608
        f" (SELECT count(*) FROM ops_workerheartbeat WHERE worker_id IN ({names})"
        f"  AND seen_at > '{mark}'),"
        " (SELECT count(*) FROM ops_lease l JOIN ops_workerheartbeat h"
        f"  ON h.worker_id = l.holder WHERE l.name IN ({job_names})"
        f"  AND l.last_run_at > '{mark}' AND h.seen_at > l.last_run_at),"
        # Due by the mark (run_after 9999-01-01 is django-tasks-db's "now");
        # a periodic task queued for later (the reconciliation chain) is not.
        " (SELECT count(*) FROM django_tasks_database_dbtaskresult"
        f"  WHERE (status = 'READY' AND (run_after <= '{mark}'"
        "  OR run_after >= '9999-01-01'))"
        f"  OR (status = 'RUNNING' AND worker_ids ->> -1 IN ({names})))"
    )
    last = ""

    def done() -> bool:
        nonlocal last
        last = cluster.psql(query, database)
        return last == f"{len(workers)}|{len(jobs)}|0"

    assert wait_until(done, seconds=seconds, step=0.2), (
        f"not settled within {seconds} s after {mark}: (workers beaten since,"
        f" jobs run since, tasks waiting or running) = {last}"
    )
    return mark
