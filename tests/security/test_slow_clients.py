"""Slow clients cost the shop nothing it needs.

The shop runs as `make run` runs it, from the same script
(deploy/run-local.sh: Caddy with deploy/Caddyfile.local in front of the
shop's gunicorn, the Swish simulator's gunicorn, the worker), on free ports
and a database of its own. 64 connections send their headers a line at a
time and 64 a body a byte at a time, each reopened as soon as the proxy
closes it, while buyers reserve and the door scans: every one of those
requests is answered as the contract says. The same attack runs against the
production Caddyfile (deploy/Caddyfile, its upstream set to the same
gunicorn).

Pointed straight at gunicorn, as `make run` served the shop before it had
Caddy in front, the same test fails (buyers and the door time out)::

    SLOW_CLIENTS_TARGET=gunicorn .venv/bin/pytest -k make_run \\
        tests/security/test_slow_clients.py
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from django.conf import settings

from tests.faults.harness import (
    BIN,
    ROOT,
    Process,
    free_port,
    manage,
    prepare_shop,
    shop_env,
    wait_until,
)

SLOW_CONNECTIONS = 64  # of each kind
DRIP_SECONDS = 1.5  # between a slow client's bytes
ATTACK_SECONDS = 8  # buyers and the door, with every slow connection open
REQUEST_TIMEOUT = 10  # a buyer's or the door's patience
PACE_SECONDS = 0.25  # between one buyer's (or door's) requests: a busy night,
# not a load test (others share the machine)
SCANNER_PASSWORD = "door-" + secrets.token_hex(8)
RATE_LIMIT = 3  # reservations per client address and hour


def caddy_env(workdir) -> dict[str, str]:
    """Caddy keeps its files under the test's folder, not the home folder."""
    return {
        "XDG_DATA_HOME": str(workdir / "xdg-data"),
        "XDG_CONFIG_HOME": str(workdir / "xdg-config"),
    }


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """SQLite in a folder of its own, or a fresh database on the PostgreSQL
    server the suite runs on (dropped afterwards)."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path_factory.mktemp('slow-db') / 'shop.sqlite3'}"
        return
    server = urlsplit(os.environ["DATABASE_URL"])
    name = f"slow_clients_{secrets.token_hex(4)}"
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(server._replace(path=f"/{name}"))
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_ready(process: Process, url: str) -> None:
    def answers() -> bool:
        if not process.alive():
            raise AssertionError(f"{process.name} exited:\n{process.tail()}")
        try:
            return requests.get(url, timeout=2).ok
        except requests.RequestException:
            return False

    assert wait_until(answers, seconds=90, step=0.2), process.tail()


@pytest.fixture(scope="module")
def shop(tmp_path_factory, database_url):
    """The processes of `make run` on free ports; their ports and ids."""
    workdir = tmp_path_factory.mktemp("slow-clients")
    ports = {"PORT": free_port(), "APP_PORT": free_port(), "SIM_PORT": free_port()}
    env = shop_env(
        database_url=database_url,
        workdir=workdir,
        SCANNER_PASSWORD=SCANNER_PASSWORD,
        RESERVATION_RATE_LIMIT=f"{RATE_LIMIT}/h",
        BIN=str(BIN),
        HOST="127.0.0.1",
        **{key: str(port) for key, port in ports.items()},
        **caddy_env(workdir),
    )
    ids = prepare_shop(env, workdir, seats=100_000)
    run = Process("make-run", [str(ROOT / "deploy/run-local.sh")], env, workdir)
    try:
        for port in ports.values():
            wait_ready(run, f"http://127.0.0.1:{port}/healthz?scope=web")
        shop = {**ports, "ids": ids, "env": env, "workdir": workdir}
        # One paid ticket for the door (the one reservation from 127.0.0.1).
        shop["ticket"] = paid_ticket(shop, ports["PORT"])
        yield shop
    finally:
        stopped = interrupt(run)
        run.stop()
    # Ctrl-C of `make run` stops every process it started.
    assert stopped, run.tail()


def interrupt(run: Process) -> bool:
    """Ctrl-C, as a terminal sends it to the whole foreground process
    group; whether every process of the group has ended."""
    group = run.proc.pid

    def gone() -> bool:
        run.proc.poll()  # reap the script itself (a zombie still counts)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False

    if run.alive():
        os.killpg(group, signal.SIGINT)
    return wait_until(gone, seconds=30, step=0.2)


@pytest.fixture(scope="module")
def production_proxy(shop):
    """deploy/Caddyfile as production runs it, with plain HTTP on a free
    loopback port instead of the public name, and the shop's gunicorn as
    its one upstream; no admin endpoint (others on this machine use 2019)."""
    workdir = shop["workdir"]
    port = free_port()
    env = {
        **os.environ,
        **caddy_env(workdir),
        "SHOP_DOMAIN": f"http://127.0.0.1:{port}",
        "SHOP_UPSTREAMS": f"127.0.0.1:{shop['APP_PORT']}",
    }
    adapted = subprocess.run(  # noqa: S603
        [str(BIN / "caddy"), "adapt", "--config", str(ROOT / "deploy/Caddyfile")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    config = json.loads(adapted.stdout)
    config["admin"] = {"disabled": True, "config": {"persist": False}}
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [f":{port}"]
    server["listen"] = [f"127.0.0.1:{port}"]
    path = workdir / "production-caddy.json"
    path.write_text(json.dumps(config))
    caddy = Process(
        "production-caddy",
        [str(BIN / "caddy"), "run", "--config", str(path)],
        env,
        workdir,
    )
    try:
        wait_ready(caddy, f"http://127.0.0.1:{port}/healthz?scope=web")
        yield port
    finally:
        caddy.stop()


# Each buyer and each slow connection comes from an address of its own
# (127.0.x.y), as on the internet, so the per-address reservation limit
# (RATE_LIMIT) refuses none of them.
_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 255), repeat=2))
_address_lock = threading.Lock()


def next_address() -> str:
    with _address_lock:
        return next(_addresses)


def request(port, method, path, body=None, *, source="127.0.0.1", headers=()):
    """One request on a connection of its own from ``source``: (status,
    headers, body text), or the name of the error (a timeout)."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=REQUEST_TIMEOUT, source_address=(source, 0)
    )
    try:
        data = None if body is None else json.dumps(body)
        sent = {"Content-Type": "application/json", **dict(headers)}
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode()
    except OSError as error:
        return type(error).__name__, {}, ""
    finally:
        conn.close()


def paid_ticket(shop, port) -> str:
    """Reserve, pay in the simulator and return the ticket's external id."""
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    response = session.post(
        f"{base}/reserve_ticket/", json=reservation(shop), timeout=10
    )
    assert response.status_code == 201, response.text
    response = session.post(
        f"{base}/start_payment/", json={"email_address": "door@example.org"}
    )
    assert response.status_code == 200, response.text
    simulator = f"http://127.0.0.1:{shop['SIM_PORT']}/swish-simulator"
    response = session.post(
        f"{simulator}/pay/{response.json()}/",
        data={"action": "approve"},
        allow_redirects=False,
    )
    assert response.status_code < 400, response.text

    def paid():
        state = session.get(f"{base}/session_payment_status/", timeout=10).json()
        return state if state["status"] == "PAID" else None

    assert wait_until(paid, seconds=60, step=0.3)
    return paid()["external_ids"][0]


def reservation(shop) -> dict:
    return {
        "chapter_event": shop["ids"]["event"],
        "tickets": [{"ticket_type": shop["ids"]["ticket_type"], "count": 1}],
    }


class SlowClients:
    """64 connections dribbling headers and 64 dribbling a body, each opened
    again when the server closes it, until stopped."""

    def __init__(self, port: int):
        self.port = port
        self.stop = threading.Event()
        self.opened = Counter()
        self.lock = threading.Lock()
        head = f"Host: 127.0.0.1:{port}\r\nUser-Agent: slow\r\n"
        self.kinds = {
            "headers": (
                f"GET /get_chapterevents/ HTTP/1.1\r\n{head}",
                b"X-Slow: 1\r\n",
            ),
            # 16 KB of the body at once (past a proxy's write buffer, so a
            # proxy that streams bodies passes the request on), then a byte
            # at a time.
            "body": (
                f"POST /reserve_ticket/ HTTP/1.1\r\n{head}"
                "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"
                + " "
                * 16_384,
                b" ",
            ),
        }
        self.threads = [
            threading.Thread(target=self.dribble, args=(kind,), daemon=True)
            for kind in self.kinds
            for _ in range(SLOW_CONNECTIONS)
        ]

    def dribble(self, kind: str) -> None:
        start, drip = self.kinds[kind]
        while not self.stop.is_set():
            try:
                # From an address of its own, as a botnet's, so that the
                # reservation limit does not answer it before its body.
                with socket.create_connection(
                    ("127.0.0.1", self.port),
                    timeout=5,
                    source_address=(next_address(), 0),
                ) as s:
                    s.sendall(start.encode())
                    with self.lock:
                        self.opened[kind] += 1
                    while not self.stop.wait(DRIP_SECONDS):
                        s.sendall(drip)
            except OSError:
                # Closed by the server (its timeout) or refused: again.
                self.stop.wait(0.2)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        # Every connection open before the buyers come.
        assert wait_until(
            lambda: all(self.opened[k] >= SLOW_CONNECTIONS for k in self.kinds),
            seconds=30,
            step=0.1,
        ), self.opened
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def attack_while_buying_and_scanning(shop, port: int) -> dict:
    """What buyers and the door got while the slow clients were on ``port``."""
    ticket = shop["ticket"]
    seen = {"reserve": Counter(), "scan": Counter()}
    lock = threading.Lock()

    def buyer(stop):
        while not stop.wait(PACE_SECONDS):
            status, _, text = request(
                port,
                "POST",
                "/reserve_ticket/",
                reservation(shop),
                source=next_address(),
            )
            with lock:
                seen["reserve"][status] += 1

    def door(stop):
        while not stop.wait(PACE_SECONDS):
            body = {
                "external_id": ticket,
                "password": SCANNER_PASSWORD,
                "use_ticket": False,
            }
            status, _, text = request(port, "PUT", "/validate_ticket/", body)
            if status == 200:
                status = (status, json.loads(text)["status"])
            with lock:
                seen["scan"][status] += 1

    with SlowClients(port) as slow:
        stop = threading.Event()
        threads = [
            threading.Thread(target=f, args=(stop,)) for f in (buyer,) * 4 + (door,) * 2
        ]
        for thread in threads:
            thread.start()
        stop.wait(ATTACK_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
        seen["slow connections opened"] = dict(slow.opened)
    print(f"[slow-clients] port {port}: {seen}")
    return seen


def target(shop, layout: str, request_) -> int:
    """The port under attack; SLOW_CLIENTS_TARGET=gunicorn: the shop's
    gunicorn itself, as the old `make run` served it (fails, by hand)."""
    if os.environ.get("SLOW_CLIENTS_TARGET") == "gunicorn":
        return shop["APP_PORT"]
    if layout == "production":
        return request_.getfixturevalue("production_proxy")
    return shop["PORT"]


@pytest.mark.parametrize("layout", ["make_run", "production"])
def test_buyers_and_the_door_are_answered_while_slow_clients_hang_on(
    shop, layout, request
):
    seen = attack_while_buying_and_scanning(shop, target(shop, layout, request))
    assert set(seen["reserve"]) == {201}, seen
    assert set(seen["scan"]) == {(200, "PAID")}, seen
    # Both kept coming throughout, not once each.
    assert seen["reserve"][201] >= 4 and seen["scan"][(200, "PAID")] >= 2, seen


def test_the_shop_sees_the_client_behind_the_proxy(shop):
    """Through Caddy: the address counted and logged is the client's own (a
    forged X-Forwarded-For is dropped), the reservation limit counts per
    client and its 429 keeps Retry-After, a same-origin POST passes the
    cross-site checks and CSRF, and a forged X-Forwarded-Proto does not make
    a plain-HTTP request secure."""
    port = shop["PORT"]
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # The reservation limit: per client address, whatever the client claims.
    for attempt in range(RATE_LIMIT):
        status, _, text = request(
            port,
            "POST",
            "/reserve_ticket/",
            reservation(shop),
            source="127.0.0.2",
            headers={**forged, "X-Forwarded-For": f"198.51.100.{attempt}"},
        )
        assert status == 201, text
    status, headers, text = request(
        port, "POST", "/reserve_ticket/", reservation(shop), source="127.0.0.2"
    )
    assert (status, json.loads(text)) == (429, "TooManyAttempts")
    assert int(headers["Retry-After"]) > 0
    status, _, text = request(
        port,
        "POST",
        "/reserve_ticket/",
        reservation(shop),
        source="127.0.0.3",
        headers={"Origin": f"http://127.0.0.1:{port}"},
    )
    assert status == 201, text
    # Cross-site: refused through the proxy as without it.
    status, _, text = request(
        port,
        "POST",
        "/reserve_ticket/",
        reservation(shop),
        source="127.0.0.4",
        headers={"Origin": "http://evil.example"},
    )
    assert (status, json.loads(text)) == (403, "CrossSiteRequest")

    # The scan log records the client's address, not Caddy's or a forged one.
    body = {
        "external_id": shop["ticket"],
        "password": SCANNER_PASSWORD,
        "use_ticket": False,
    }
    status, _, text = request(
        port, "PUT", "/validate_ticket/", body, source="127.0.0.5", headers=forged
    )
    assert status == 200, text
    logged = manage(
        shop["env"],
        "shell",
        "-c",
        "from ticketshop.scanning.models import ScanLog;"
        "print(ScanLog.objects.latest('id').client_address)",
    )
    assert logged.strip().splitlines()[-1] == "127.0.0.5"

    # CSRF of a form (the admin's login): the token round-trips through the
    # proxy; a forged https scheme makes the http Origin fail the check.
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    page = session.get(f"{base}/admin/login/", timeout=10)
    assert page.status_code == 200 and "csrftoken" in session.cookies
    form = {
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
        "username": "nobody",
        "password": "wrong",
        "next": "/admin/",
    }
    same_origin = {"Origin": base}
    # (200: the form again, wrong password; a CSRF failure would be 403.)
    answer = session.post(
        f"{base}/admin/login/", data=form, headers=same_origin, timeout=10
    )
    assert answer.status_code == 200, answer.text[:300]
    answer = session.post(
        f"{base}/admin/login/", data=form, headers={**same_origin, **forged}
    )
    assert answer.status_code == 200, answer.text[:300]

    # Static files and the buyer page's polling come through.
    css = requests.get(f"{base}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
