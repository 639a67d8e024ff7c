"""The fault suite: parts of a running shop fail mid-sale.

Each test prints what it did and what it counted ([fault] lines, pytest -s).
"""

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests

from .harness import (
    ROOT,
    Shop,
    Smtp,
    SwishServer,
    Tally,
    Worker,
    log,
    manage,
    prepare_shop,
    settled,
    shop_env,
    sold_and_paid,
    wait_until,
    with_swish,
)


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_postgres_restarted_mid_rush(cluster, database, workdir):
    """Requests fail fast with 503 Busy or succeed; nothing oversold after."""
    env = shop_env(
        database_url=database, workdir=workdir, WORKER_MAINTENANCE_SECONDS="1"
    )
    ids = prepare_shop(env, workdir, seats=100)
    shop = Shop(env, workdir, servers=2)
    try:
        tally = Tally()
        thread, results = shop.buy_in_background(150, ids, tally, seconds=150)
        # Stopped early in the rush, by its progress rather than by the clock.
        assert wait_until(lambda: tally.statuses[201] >= 20, seconds=60, step=0.05)
        down_at = time.monotonic()
        cluster.stop("fast")
        log(f"PostgreSQL stopped (fast) mid-rush, {dict(tally.statuses)} so far")
        assert thread.is_alive()
        # The outage is real: the health check, which asks the database
        # itself, says so (503, the database part not "ok").
        health = requests.get(shop.bases[0] + "/healthz", timeout=15)
        assert health.status_code == 503, health.text
        assert health.json()["database"] != "ok"
        time.sleep(max(0.0, 3 - (time.monotonic() - down_at)))
        cluster.start()
        log(f"PostgreSQL back after {time.monotonic() - down_at:.1f} s")
        thread.join()
        outcomes = Counter(results)
        log(
            f"150 buyers, 100 seats: {dict(outcomes)}; HTTP {dict(tally.statuses)};"
            f" 5xx {dict(tally.server_errors)}; slowest {tally.slowest:.2f} s"
        )
        # Never a hang: every request answered before the client's own
        # timeout (the slowest answer is logged above, not asserted).
        assert "timeout" not in tally.statuses
        assert tally.statuses["conn"] == 0
        assert tally.statuses[503] > 0  # the outage was seen
        for (status, path, body), _n in tally.server_errors.items():
            # 503 Busy anywhere; 500 only as the contract's PaymentStartFailed
            # when "Swish" (the simulator, on the same database) was down too.
            assert (
                status == 503
                and "Busy" in body
                or (
                    status == 500
                    and path == "/start_payment"
                    and "PaymentStartFailed" in body
                )
            ), (status, path, body)
        assert outcomes["paid"] == 100 and outcomes["sold_out"] == 50, outcomes
        counts = sold_and_paid(cluster, db_name(database))
        assert counts["paid_tickets"] == 100
        # The task worker lost the database too, and outlived it: Swish's
        # answers are read there, so a worker that died with the database
        # left every later payment waiting.
        assert all(worker.alive() for worker in shop.workers)
        assert "lost the database; starting again" in (
            shop.workers[0].logpath.read_text()
        )
        print(manage(env, "check_consistency"))
    finally:
        shop.stop()


def test_app_server_killed_mid_rush(cluster, database, workdir):
    """SIGKILL one of three app servers; the others sell every seat."""
    env = shop_env(
        database_url=database, workdir=workdir, WORKER_MAINTENANCE_SECONDS="1"
    )
    ids = prepare_shop(env, workdir, seats=100)
    shop = Shop(env, workdir, servers=3)
    try:
        tally = Tally()
        thread, results = shop.buy_in_background(150, ids, tally, seconds=150)

        def answered():
            return sum(v for k, v in tally.statuses.items() if isinstance(k, int))

        # Kill early in the rush, by its progress rather than by the clock:
        # each of the 150 buyers needs at least two answers (reserve, then
        # start_payment or sold out), so most of the rush is still to come.
        deadline = time.monotonic() + 60
        while answered() < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        before = answered()
        shop.servers[0].kill()
        log(f"web0 SIGKILLed after {before} answers")
        thread.join()
        outcomes = Counter(results)
        after = answered()
        log(
            f"150 buyers, 100 seats: {dict(outcomes)}; HTTP {dict(tally.statuses)};"
            f" answers after the kill {after - before}"
        )
        assert not tally.server_errors, tally.server_errors
        assert before < 100, before  # killed mid-rush, not after it
        assert after - before > 200  # the others kept serving
        # A reservation web0 committed but could not answer before the kill
        # holds its seat until it lapses (its buyer asked again elsewhere):
        # every seat is paid or held so, none sold twice, none lost.
        counts = sold_and_paid(cluster, db_name(database))
        assert outcomes["paid"] + outcomes["sold_out"] == 150, outcomes
        assert counts["paid_tickets"] == outcomes["paid"]
        assert counts["paid_tickets"] + counts["held_tickets"] == 100, counts
        assert counts["held_tickets"] <= tally.statuses["conn"], counts
        print(manage(env, "check_consistency"))
    finally:
        shop.stop()


def test_worker_killed_mid_delivery(cluster, database, workdir):
    """Every paid order's e-mail arrives exactly once."""
    smtp = Smtp(hold_rcpt=60, hold_count=1)
    smtp.start()
    env = shop_env(
        database_url=database,
        workdir=workdir,
        EMAIL_URL=smtp.url,
        WORKER_MAINTENANCE_SECONDS="1",
        DELIVERY_LEASE_SECONDS="3",
        DELIVERY_REQUEUE_EVERY_SECONDS="1",
    )
    ids = prepare_shop(env, workdir, seats=10)
    shop = Shop(env, workdir, servers=1, workers=1)
    try:
        tally = Tally()
        results = shop.buy(6, ids, tally, seconds=60)
        assert Counter(results)["paid"] == 6, results
        assert smtp.rcpt_seen.wait(30), shop.workers[0].tail()
        shop.workers[0].kill()
        killed_at = time.monotonic()
        # The fault happened: worker0 died mid-send, its e-mail unsent and
        # claimed under a lease it no longer renews.
        held = cluster.psql(
            "SELECT count(*) FROM delivery_ticketdelivery"
            " WHERE sent_at IS NULL AND claim_token <> ''",
            db_name(database),
        )
        log(f"worker0 SIGKILLed while its SMTP conversation was held ({held} held)")
        assert held == "1" and not shop.workers[0].alive()
        shop.workers.append(Worker("worker1", with_swish(env, shop.swish), workdir))
        assert wait_until(lambda: len(smtp.counts()) == 6, seconds=60), smtp.counts()
        took = time.monotonic() - killed_at
        # A second copy could only come from a lease that lapses and is
        # requeued: wait until every lease taken by now has lapsed and
        # worker1 (whose maintenance requeues every second) has beaten since
        # and run every task.
        mark = settled(
            cluster,
            db_name(database),
            workers=["worker1"],
            after=float(env["DELIVERY_LEASE_SECONDS"]),
        )
        received = smtp.counts()
        log(
            f"e-mails {dict(received)}; all 6 in {took:.1f} s after the kill;"
            f" settled after {mark}"
        )
        assert set(received.values()) == {1}
        counts = sold_and_paid(cluster, db_name(database))
        assert counts["emails_sent"] == 6 and counts["times_sent"] == 6
    finally:
        shop.stop()
        smtp.stop()


def test_smtp_down_then_back(cluster, database, workdir):
    smtp = Smtp()  # not started: connections are refused
    env = shop_env(
        database_url=database,
        workdir=workdir,
        EMAIL_URL=smtp.url,
        EMAIL_TIMEOUT="3",
        DELIVERY_RETRY_BASE_SECONDS="1",
        DELIVERY_RETRY_MAX_SECONDS="2",
        WORKER_MAINTENANCE_SECONDS="1",
    )
    ids = prepare_shop(env, workdir, seats=10)
    shop = Shop(env, workdir, servers=1, workers=1)
    try:
        tally = Tally()
        results = shop.buy(5, ids, tally, seconds=60)
        assert Counter(results)["paid"] == 5

        def retrying():
            return cluster.psql(
                "SELECT count(*) FROM delivery_ticketdelivery"
                " WHERE status = 'RETRYING' AND attempts >= 1",
                db_name(database),
            )

        # The fault happened: every e-mail was tried against the refused
        # SMTP server and waits for its retry.
        assert wait_until(lambda: retrying() == "5", seconds=60), retrying()
        log("SMTP down: 5 e-mails retrying")
        smtp.start()
        log("SMTP back")
        assert wait_until(lambda: len(smtp.counts()) == 5, seconds=30), smtp.counts()
        # Retries still queued (each at most DELIVERY_RETRY_MAX_SECONDS
        # ahead) have run and found their e-mail sent.
        settled(
            cluster,
            db_name(database),
            workers=["worker0"],
            after=float(env["DELIVERY_RETRY_MAX_SECONDS"]),
        )
        log(f"e-mails after SMTP came back: {dict(smtp.counts())}")
        assert set(smtp.counts().values()) == {1}
    finally:
        shop.stop()
        smtp.stop()


@pytest.mark.parametrize("failure", ["500", "timeout-after-create"])
def test_swish_failing_on_create_then_recovering(cluster, database, workdir, failure):
    """Swish answers 500 (or hangs after creating) on create, and drops
    callbacks; later it works and sends callbacks twice. Every buyer ends
    paid once, and no money is unaccounted for."""
    env = shop_env(
        database_url=database,
        workdir=workdir,
        WORKER_MAINTENANCE_SECONDS="1",
        SWISH_HTTP_TIMEOUT_SECONDS="1",
    )
    ids = prepare_shop(env, workdir, seats=10)
    shop = Shop(
        env,
        workdir,
        servers=1,
        swish_env={
            "SWISH_SIMULATOR_FAIL_CREATE": failure,
            "SWISH_SIMULATOR_HANG_SECONDS": "2",
            "SWISH_SIMULATOR_DROP_CALLBACKS": "true",
        },
    )
    try:
        tally = Tally()
        thread, results = shop.buy_in_background(5, ids, tally, seconds=90)

        def failed_starts():
            with tally.lock:
                return sum(
                    n
                    for (_s, p, _), n in tally.server_errors.items()
                    if p == "/start_payment"
                )

        # The fault happened, by count rather than by the clock: at least as
        # many failed starts as buyers (each retries until one succeeds).
        assert wait_until(lambda: failed_starts() >= 5, seconds=60, step=0.1), (
            tally.statuses,
            tally.server_errors,
        )
        assert thread.is_alive()  # no buyer got through yet
        failed = failed_starts()
        port = shop.swish.port
        shop.swish.stop()
        shop.swish = SwishServer(
            {**env, "SWISH_SIMULATOR_DOUBLE_CALLBACKS": "true"}, workdir, port=port
        )
        shop.swish.wait_ready()
        log(f"Swish ({failure}) failed {failed} starts; now healthy")
        thread.join()
        outcomes = Counter(results)
        log(f"buyers {dict(outcomes)}; HTTP {dict(tally.statuses)}")
        assert outcomes["paid"] == 5, (outcomes, tally.errors)
        paid = cluster.psql(
            "SELECT count(*), count(DISTINCT order_id) FROM payments_swishpayment"
            " WHERE status = 'PAID'",
            db_name(database),
        )
        assert paid == "5|5"  # each order paid exactly once
        print(manage(env, "check_consistency"))
    finally:
        shop.stop()


def test_backup_during_sales_restores_into_a_consistent_shop(
    cluster, database, workdir
):
    """deploy/backup.sh mid-rush, deploy/restore.sh into an empty database."""
    env = shop_env(
        database_url=database, workdir=workdir, WORKER_MAINTENANCE_SECONDS="1"
    )
    ids = prepare_shop(env, workdir, seats=100)
    shop = Shop(env, workdir, servers=2)
    try:
        tally = Tally()
        thread, results = shop.buy_in_background(150, ids, tally, seconds=150)

        def paid_now():
            return sold_and_paid(cluster, db_name(database))["paid_tickets"]

        # Mid-rush by its progress, not by the clock: some seats paid, most
        # still to sell.
        assert wait_until(lambda: paid_now() >= 10, seconds=90, step=0.1)
        tools = {**env, "PATH": f"{cluster.bindir}:{os.environ['PATH']}"}
        backup = subprocess.run(
            ["sh", str(ROOT / "deploy/backup.sh")],
            env={**tools, "BACKUP_DIR": str(workdir / "backups")},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        dump = backup.stdout.strip().rsplit(" ", 1)[1]
        during = paid_now()
        log(
            f"backup taken mid-rush: {dump} ({os.path.getsize(dump)} bytes),"
            f" {during} seats paid when it ended"
        )
        # The backup really overlapped the sales: they went on after it.
        assert during < 100 and thread.is_alive(), during
        thread.join()
        restored = db_name(database) + "_restored"
        cluster.psql(f'DROP DATABASE IF EXISTS "{restored}"')
        cluster.psql(f'CREATE DATABASE "{restored}"')
        restore = subprocess.run(
            ["sh", str(ROOT / "deploy/restore.sh"), dump],
            env={
                **tools,
                "DATABASE_URL": cluster.url(restored),
                "PYTHON": sys.executable,
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        log(f"restore: {restore.stdout.strip().splitlines()[-1:]}")
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "consistent (" in restore.stdout
        live = sold_and_paid(cluster, db_name(database))
        then = sold_and_paid(cluster, restored)
        log(f"live shop {live}; restored backup {then}")
        assert 10 <= then["paid_tickets"] <= during < live["paid_tickets"] == 100
    finally:
        shop.stop()


def test_swish_unreachable_after_approval_loses_callbacks_and_status_reads(
    cluster, database, workdir
):
    """Payers approve, callbacks are lost, then Swish is SIGKILLed and
    unreachable for a while: status reads fail. Once it answers again,
    the workers' scheduled reads settle every order as PAID, once."""
    env = shop_env(
        database_url=database,
        workdir=workdir,
        WORKER_MAINTENANCE_SECONDS="1",
        SWISH_HTTP_TIMEOUT_SECONDS="1",
        # No worker reads a payment's status from Swish in its first 8 s,
        # so the approved orders are still open when Swish is killed (it is
        # killed as soon as all 6 are approved, well within that).
        SWISH_READ_AFTER_SECONDS="8",
    )
    ids = prepare_shop(env, workdir, seats=10)
    # Callbacks are lost: only reading the status from Swish settles.
    shop = Shop(
        env, workdir, servers=2, swish_env={"SWISH_SIMULATOR_DROP_CALLBACKS": "true"}
    )
    try:
        tally = Tally()
        thread, results = shop.buy_in_background(6, ids, tally, seconds=90)
        assert wait_until(
            lambda: (
                cluster.psql(
                    "SELECT count(*) FROM swish_simulator_simulatedpaymentrequest"
                    " WHERE status = 'PAID'",
                    db_name(database),
                )
                == "6"
            ),
            seconds=40,
            step=0.1,
        )
        port = shop.swish.port
        shop.swish.kill()
        assert not shop.swish.alive()
        killed_at = cluster.psql("SELECT now()", db_name(database))

        def pending():
            return cluster.psql(
                "SELECT count(*) FROM orders_order WHERE status = 'RESERVED'",
                db_name(database),
            )

        open_at_kill = pending()
        log(f"all 6 approved; callbacks lost; Swish SIGKILLed; {open_at_kill} open")
        assert open_at_kill == "6"

        # The fault happened: every open payment's status was read from
        # Swish after the kill (checked_at is taken before each read), and
        # the reads failed (still open).
        def read_since_kill():
            return cluster.psql(
                f"SELECT count(*) FILTER (WHERE checked_at > '{killed_at}'),"  # noqa: S608
                " count(*) FROM payments_swishpayment WHERE status = 'CREATED'",
                db_name(database),
            )

        assert wait_until(lambda: read_since_kill() == "6|6", seconds=60), (
            read_since_kill()
        )
        assert pending() == "6"
        log("every open payment read from Swish while it was down; all still open")
        shop.swish = SwishServer(env, workdir, port=port)
        shop.swish.wait_ready()
        thread.join()
        outcomes = Counter(results)
        log(f"Swish back: buyers {dict(outcomes)}; 5xx {dict(tally.server_errors)}")
        assert outcomes["paid"] == 6, outcomes
        assert not tally.server_errors
        paid = cluster.psql(
            "SELECT count(*), count(DISTINCT order_id) FROM payments_swishpayment"
            " WHERE status = 'PAID'",
            db_name(database),
        )
        assert paid == "6|6"
        print(manage(env, "check_consistency"))
    finally:
        shop.stop()


_REFUND_EVERY_PAID_ORDER = """
from ticketshop.orders.models import Order
from ticketshop.payments.services import refund_order
for order in Order.objects.filter(status="PAID").order_by("pk"):
    refund_order(order_id=order.pk, requested_by="fault suite")
"""


@pytest.mark.parametrize("failure", ["500", "timeout-after-create"])
def test_swish_failing_on_refunds_and_a_worker_killed_mid_batch(
    cluster, database, workdir, failure
):
    """Six paid orders are cancelled and refunded at once. Swish answers
    500 (or hangs after creating) on refund PUTs while the worker sends
    them, and that worker is SIGKILLed mid-batch; Swish recovers and
    another worker starts. Every refund reaches Swish exactly once, the
    PUTs at least a second apart, and every order ends refunded."""
    env = shop_env(
        database_url=database,
        workdir=workdir,
        WORKER_MAINTENANCE_SECONDS="1",
        SWISH_HTTP_TIMEOUT_SECONDS="1",
        SWISH_RECONCILE_EVERY_SECONDS="2",
        SWISH_REFUND_SPACING_SECONDS="1",
    )
    ids = prepare_shop(env, workdir, seats=10)
    shop = Shop(env, workdir, servers=1, workers=1)
    db = db_name(database)
    swish_env = {**env, "SWISH_SIMULATOR_REFUND_STEP_SECONDS": "0.5"}
    try:
        tally = Tally()
        results = shop.buy(6, ids, tally, seconds=60)
        assert Counter(results)["paid"] == 6, results
        port = shop.swish.port
        shop.swish.stop()
        shop.swish = SwishServer(
            {
                **swish_env,
                "SWISH_SIMULATOR_FAIL_REFUND": failure,
                "SWISH_SIMULATOR_HANG_SECONDS": "2",
            },
            workdir,
            port=port,
        )
        shop.swish.wait_ready()
        manage(with_swish(env, shop.swish), "shell", "-c", _REFUND_EVERY_PAID_ORDER)
        # All six are recorded by the command. The worker may already be
        # sending the first (and a reconciliation reading it) by the time this
        # reads them, so their states are not asked here.
        recorded = cluster.psql("SELECT count(*) FROM payments_swishrefund", db)
        assert recorded == "6"
        # The worker sends them (Swish failing), one a second; killed mid-batch.
        assert wait_until(
            lambda: (
                int(
                    cluster.psql(
                        "SELECT count(*) FROM payments_swishrefund"
                        " WHERE sent_at IS NOT NULL",
                        db,
                    )
                )
                >= 2
            ),
            seconds=30,
            step=0.1,
        ), shop.workers[0].tail()
        shop.workers[0].kill()
        sent = cluster.psql(
            "SELECT count(*) FROM payments_swishrefund WHERE sent_at IS NOT NULL", db
        )
        log(f"worker0 SIGKILLed after sending {sent} of 6 refunds to a failing Swish")
        shop.swish.stop()
        shop.swish = SwishServer(swish_env, workdir, port=port)
        shop.swish.wait_ready()
        shop.workers.append(Worker("worker1", with_swish(env, shop.swish), workdir))
        started = time.monotonic()
        assert wait_until(
            lambda: (
                cluster.psql(
                    "SELECT count(*) FROM orders_order WHERE refund_state = 'REFUNDED'",
                    db,
                )
                == "6"
            ),
            seconds=120,
        ), shop.workers[1].tail()
        took = time.monotonic() - started
        refunds = cluster.psql(
            "SELECT count(*), count(DISTINCT refund_id), sum(send_attempts)"
            " FROM payments_swishrefund WHERE status = 'PAID'",
            db,
        )
        at_swish = cluster.psql(
            "SELECT count(*), count(DISTINCT original_payment_reference)"
            " FROM swish_simulator_simulatedrefund WHERE status = 'PAID'",
            db,
        )
        gaps = cluster.psql(
            "SELECT min(gap) FROM (SELECT extract(epoch FROM date_created - lag("
            "date_created) OVER (ORDER BY date_created)) AS gap"
            " FROM swish_simulator_simulatedrefund) AS g",
            db,
        )
        log(
            f"Swish back ({failure}): 6 orders refunded {took:.1f} s after; refunds"
            f" (paid, ids, PUTs) {refunds}; at Swish {at_swish}; least gap {gaps} s"
        )
        count, distinct, puts = refunds.split("|")
        assert count == distinct == "6"
        if failure == "500":
            # The PUTs answered 500 created nothing: those were sent again.
            assert int(puts) > 6
        else:
            # Created but unanswered: a second PUT (RF09, "it exists") or a
            # read of the refund may find each; either way it is not sent
            # twice as money (below).
            assert int(puts) >= 6
        assert at_swish == "6|6"  # each refund reached Swish once
        assert float(gaps) >= 1.0
        print(manage(env, "check_consistency"))
    finally:
        shop.stop()
