"""The task worker of production and `make run`: db_worker plus upkeep.

Runs django-tasks-db's ``db_worker`` (same options) and, beside it, a
thread that every WORKER_MAINTENANCE_SECONDS

- writes this worker's heartbeat (GET /healthz, metrics);
- re-enqueues ticket e-mails whose sending worker died (a lapsed lease),
  once a minute across all workers;
- reconciles open Swish payments once per SWISH_RECONCILE_EVERY_SECONDS
  across all workers (a lease row decides which worker runs it).

and SWISH_READ_THREADS read loops that read the Swish payments whose read
is due, a callback's or the schedule's, straight from the payments' table
(payments/reads.py; each read claimed by one loop of one worker), so that a
buyer's payment is read when its callback comes, not after the ticket
e-mails queued before it (on a release night hundreds of them), and a thread
that draws fair releases whose window closed and admits their next entries,
every RELEASE_TICK_SECONDS across all workers (a lease; no write while no
release is due).

Any number of these may run, on any host, against one database.
"""

import logging
import threading

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from ticketshop.ops import upkeep

logger = logging.getLogger("ticketshop.ops.worker")


class Command(DBWorkerCommand):
    help = (
        "Run a task worker (db_worker) with its heartbeat, the automatic "
        "requeue of e-mails of dead workers and the shared reconciliation."
    )

    def handle(self, *args, **options):
        from ticketshop.payments import swish
        from ticketshop.payments.reads import read_due, run_reads

        # No request threads to keep free here (payments/swish.py's bound).
        swish.slots.bounded = False
        if options.get("batch"):
            # Every read due now, then every task due now (the reads may
            # schedule ticket e-mails).
            if _runs_reads(options):
                read_due()
            return super().handle(*args, **options)
        stop = threading.Event()
        worker_id = options["worker_id"]
        started_at = timezone.now()
        _thread(
            "worker-upkeep",
            _every,
            "worker upkeep",
            lambda: upkeep.tick(worker_id=worker_id, started_at=started_at),
            seconds=lambda: settings.WORKER_MAINTENANCE_SECONDS,
            stop=stop,
        )
        _thread(
            "worker-release",
            _every,
            "release tick",
            lambda: _log_release(upkeep.release_tick(worker_id=worker_id)),
            seconds=lambda: settings.RELEASE_TICK_SECONDS,
            stop=stop,
        )
        for number in range(settings.SWISH_READ_THREADS if _runs_reads(options) else 0):
            _thread(
                f"worker-swish-reads-{number}",
                _outlasting_the_database,
                "a Swish read loop",
                lambda: run_reads(stop=stop),
                stop=stop,
            )
        try:
            # db_worker itself: a database that goes away (a restart, a
            # failover) makes its loop raise; it starts again once the
            # database answers, so that the worker never stays dead.
            _outlasting_the_database(
                "db_worker",
                lambda: super(Command, self).handle(*args, **options),
                stop=stop,
            )
        finally:
            stop.set()


def _thread(name: str, target, *args, **kwargs) -> None:
    threading.Thread(
        target=target, args=args, kwargs=kwargs, name=name, daemon=True
    ).start()


def _log_release(done) -> None:
    if done:
        logger.info("release tick: %s", done)


def _every(what: str, step, *, seconds, stop: threading.Event) -> None:
    """Run ``step`` every ``seconds()`` until ``stop``; a failure is logged
    and the next tick tries again. After a failure the thread's connection
    is closed, so a restarted database is met with a fresh one."""
    while True:
        try:
            step()
        except Exception:
            logger.exception("%s failed; trying again", what)
            connection.close()
        if stop.wait(seconds()):
            return


# How long a loop that lost the database waits before it starts again.
DATABASE_RETRY_SECONDS = 1.0


def _outlasting_the_database(what: str, run, *, stop: threading.Event) -> None:
    """Run ``run`` (a worker loop that returns when it is told to stop);
    when the database fails under it, log, close the connection, wait and
    run it again. Any other error ends the loop, logged and raised."""
    while not stop.is_set():
        try:
            run()
            return
        except (OperationalError, InterfaceError):
            logger.exception(
                "%s lost the database; starting again in %s s",
                what,
                DATABASE_RETRY_SECONDS,
            )
        except Exception:
            logger.exception("%s stopped", what)
            raise
        finally:
            connection.close()
        stop.wait(DATABASE_RETRY_SECONDS)


def _runs_reads(options) -> bool:
    """Whether this worker reads Swish payments at all (its queue names
    take "swish-reads", the queue of the refunds' reads too)."""
    from ticketshop.payments.reads import QUEUE

    names = options["queue_name"].split(",")
    excluded = (options.get("exclude_queues") or "").split(",")
    return ("*" in names or QUEUE in names) and QUEUE not in excluded
