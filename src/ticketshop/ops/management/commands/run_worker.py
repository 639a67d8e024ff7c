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
worker sees it first), and a third that draws fair releases whose window
closed and admits their next entries, every RELEASE_TICK_SECONDS across all
workers (a lease; no write while no release is due).

Any number of these may run, on any host, against one database.
"""

import logging
import threading

from django.conf import settings
from django.db import connection
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
        if not options.get("batch"):
            stop = threading.Event()
            thread = threading.Thread(
                target=_maintain,
                kwargs={"worker_id": options["worker_id"], "stop": stop},
                name="worker-upkeep",
                daemon=True,
            )
            thread.start()
            threading.Thread(
                target=_release,
                kwargs={"worker_id": options["worker_id"], "stop": stop},
                name="worker-release",
                daemon=True,
            ).start()
            threading.Thread(
                target=_queue_reads,
                kwargs={"stop": stop},
                name="worker-swish-reads",
                daemon=True,
            ).start()
        return super().handle(*args, **options)


def _maintain(*, worker_id: str, stop: threading.Event) -> None:
    started_at = timezone.now()
    while True:
        try:
            upkeep.tick(worker_id=worker_id, started_at=started_at)
        except Exception:
            logger.exception("worker upkeep failed; trying again")
        finally:
            # The thread's own connection: closed, so that a restarted
            # database is met with a fresh one next time.
            connection.close()
        if stop.wait(settings.WORKER_MAINTENANCE_SECONDS):
            return


def _release(*, worker_id: str, stop: threading.Event) -> None:
    while True:
        try:
            done = upkeep.release_tick(worker_id=worker_id)
            if done:
                logger.info("release tick: %s", done)
        except Exception:
            logger.exception("release tick failed; trying again")
        finally:
            connection.close()
        if stop.wait(settings.RELEASE_TICK_SECONDS):
            return


def _queue_reads(*, stop: threading.Event) -> None:
    from ticketshop.payments.reads import SCAN_EVERY_SECONDS, queue_due_reads

    while True:
        try:
            queue_due_reads()
        except Exception:
            logger.exception("queueing Swish reads failed; trying again")
            connection.close()
        if stop.wait(SCAN_EVERY_SECONDS):
            return
