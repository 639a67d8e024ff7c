"""The task worker of production and `make run`: db_worker plus upkeep.

Runs django-tasks-db's ``db_worker`` (same options) and, beside it, a
thread that every WORKER_MAINTENANCE_SECONDS

- writes this worker's heartbeat (GET /healthz, metrics);
- re-enqueues ticket e-mails whose sending worker died (a lapsed lease),
  once a minute across all workers;
- reconciles open Swish payments once per SWISH_RECONCILE_EVERY_SECONDS
  across all workers (a lease row decides which worker runs it).

and a second thread that once a second queues the reads of open Swish
payments that are due (payments/reads.py; each queued once, whichever
worker sees it first), SWISH_READ_THREADS threads that run the
``swish-reads`` queue alone (so that a buyer's payment is read when its
callback comes, not after the ticket e-mails queued before it: on a release
night hundreds of them), and
a third that draws fair releases whose window
closed and admits their next entries, every RELEASE_TICK_SECONDS across all
workers (a lease; no write while no release is due).

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
        from ticketshop.payments.reads import SCAN_EVERY_SECONDS, queue_due_reads

        # No request threads to keep free here (payments/swish.py's bound).
        swish.slots.bounded = False
        if options.get("batch"):
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
        _thread(
            "worker-swish-reads",
            _every,
            "queueing Swish reads",
            queue_due_reads,
            seconds=lambda: SCAN_EVERY_SECONDS,
            stop=stop,
        )
        for number in range(settings.SWISH_READ_THREADS if _runs_reads(options) else 0):
            _thread(
                f"worker-swish-read-tasks-{number}",
                _outlasting_the_database,
                "the swish-reads loop",
                _reads_worker(options, number).run,
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
    """Whether this worker takes the swish-reads queue at all."""
    from ticketshop.payments.reads import QUEUE

    names = options["queue_name"].split(",")
    excluded = (options.get("exclude_queues") or "").split(",")
    return ("*" in names or QUEUE in names) and QUEUE not in excluded


def _reads_worker(options, number: int):
    """The swish-reads queue's own loop beside db_worker's (which takes
    reads too when it is free): reads are short, e-mails are not. A read
    lost with the process is queued again by queue_due_reads."""
    from django_tasks_db.management.commands.db_worker import Worker

    from ticketshop.payments.reads import QUEUE

    return Worker(
        queue_names=[QUEUE],
        interval=min(options["interval"], READS_INTERVAL_SECONDS),
        batch=False,
        backend_name=options["backend_name"],
        startup_delay=False,
        max_tasks=None,
        worker_id=f"{options['worker_id'][:55]}-reads-{number}",
        excluded_queue_names=[],
    )


# How often the reads' own loop looks for a queued read when it found none.
READS_INTERVAL_SECONDS = 0.2
