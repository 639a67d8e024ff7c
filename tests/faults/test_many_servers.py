"""Three app servers and two workers on one PostgreSQL: 300 buyers, 100 seats.

Exactly 100 seats sold, each paid order mailed exactly once, and each ticket
admitted once when 20 threads scan it through different servers.
"""

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from .harness import (
    Shop,
    Smtp,
    Tally,
    log,
    manage,
    prepare_shop,
    settled,
    shop_env,
    sold_and_paid,
    wait_until,
)

SCANNER_PASSWORD = "door-password-of-the-fault-suite"


def test_three_app_servers_two_workers_300_buyers_100_seats(cluster, database, workdir):
    smtp = Smtp()
    smtp.start()
    env = shop_env(
        database_url=database,
        workdir=workdir,
        EMAIL_URL=smtp.url,
        SCANNER_PASSWORD=SCANNER_PASSWORD,
        WORKER_MAINTENANCE_SECONDS="1",
    )
    ids = prepare_shop(env, workdir, seats=100)
    shop = Shop(env, workdir, servers=3, workers=2)
    try:
        bases = shop.bases
        tally = Tally()
        started = time.monotonic()
        outcomes = Counter(shop.buy(300, ids, tally, seconds=240))
        took = time.monotonic() - started
        log(
            f"300 buyers over 3 servers in {took:.1f} s "
            f"(load {os.getloadavg()[0]:.2f}): {dict(outcomes)}; "
            f"HTTP {dict(tally.statuses)}; slowest {tally.slowest:.2f} s"
        )
        assert outcomes["paid"] == 100, (outcomes, tally.errors[:5])
        assert outcomes["sold_out"] == 200
        assert not tally.errors
        assert all(code in (200, 201, 302, 403, 503) for code in tally.statuses), (
            tally.statuses,
            tally.connection_failures,
        )

        counts = sold_and_paid(cluster, database.rsplit("/", 1)[1])
        assert counts["paid_tickets"] == 100 and counts["paid_orders"] == 100

        # Each paid order's e-mail exactly once, whichever worker sent it.
        assert wait_until(lambda: sum(smtp.counts().values()) >= 100, seconds=120)
        # Anything sent twice would come from a task still queued or
        # running: wait until both workers have run every task and begun
        # another upkeep pass.
        settled(cluster, database.rsplit("/", 1)[1], workers=["worker0", "worker1"])
        received = smtp.counts()
        log(
            f"e-mails: {sum(received.values())} to {len(received)} buyers; "
            f"max per buyer {max(received.values())}"
        )
        assert len(received) == 100 and set(received.values()) == {1}
        counts = sold_and_paid(cluster, database.rsplit("/", 1)[1])
        assert counts["emails_sent"] == 100 and counts["times_sent"] == 100

        # Both workers beat their heartbeat; /healthz is ok on every server.
        for base in bases:
            health = requests.get(f"{base}/healthz", timeout=5)
            assert health.status_code == 200, health.text

        # Door: 20 threads scan every ticket, each through another server.
        ticket_ids = (
            cluster.psql(
                "SELECT external_id FROM orders_ticket t"
                " JOIN orders_order o ON o.id = t.order_id WHERE o.status = 'PAID'",
                database.rsplit("/", 1)[1],
            )
            .strip()
            .splitlines()
        )
        assert len(ticket_ids) == 100
        results = Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(20)

        def scanner(n: int) -> None:
            # A connection per scan ("Connection: close"). On a kept-alive
            # connection, a scan sent just as gunicorn closes it for idling
            # (its 2 s keepalive, easily reached on a loaded machine) meets
            # "connection reset by peer". A browser resends such a request;
            # requests does not, and resending a use here would blur the
            # count this test makes. (CI met that reset once.)
            session = requests.Session()
            session.headers["Connection"] = "close"
            barrier.wait()
            for ticket in ticket_ids:
                base = bases[(n + hash(ticket)) % len(bases)]
                response = session.put(
                    f"{base}/validate_ticket/",
                    json={
                        "external_id": ticket,
                        "password": SCANNER_PASSWORD,
                        "use_ticket": True,
                    },
                    timeout=30,
                )
                body = response.json()
                with lock:
                    results[(ticket, response.status_code, body.get("times_used"))] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(scanner, range(20)))
        log(f"2000 scans (20 per ticket) in {time.monotonic() - started:.1f} s")
        for ticket in ticket_ids:
            first_uses = results[(ticket, 200, 0)]
            assert first_uses == 1, (
                ticket,
                {k: v for k, v in results.items() if k[0] == ticket},
            )
        admitted = int(
            cluster.psql(
                "SELECT count(*) FROM orders_ticket WHERE times_used = 20",
                database.rsplit("/", 1)[1],
            )
        )
        assert admitted == 100

        env_check = {**env}
        print(manage(env_check, "check_consistency"))
    finally:
        shop.stop()
        smtp.stop()
