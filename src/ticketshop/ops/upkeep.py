"""What every task worker does between tasks (see run_worker)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings

from ticketshop.leases.services import run_once_per
from ticketshop.statemachine.machine import acting_as

from .heartbeat import beat, fail_tasks_of_dead_workers, forget_old_workers

logger = logging.getLogger(__name__)

# How often one of the workers runs the waiting list's pass.
WAITLIST_PASS_SECONDS = 30


def tick(*, worker_id: str, started_at: datetime) -> dict:
    """One round of upkeep; returns what ran (for tests and logs). History
    rows it writes name the "sweep" (reconciliation's, "reconcile")."""
    with acting_as("sweep"):
        return _tick(worker_id=worker_id, started_at=started_at)


def release_tick(*, worker_id: str) -> dict:
    """Draw the fair releases whose window closed and admit their next
    entries: one worker per RELEASE_TICK_SECONDS (a lease), and no write at
    all while no release is due."""
    from ticketshop.release import services as release

    if not release.due_releases().exists():
        return {}
    with acting_as("sweep"):
        ran, done = run_once_per(
            "release.tick",
            every=timedelta(seconds=settings.RELEASE_TICK_SECONDS),
            holder=worker_id,
            job=release.tick,
        )
    return done if ran and done else {}


def _tick(*, worker_id: str, started_at: datetime) -> dict:
    from ticketshop.delivery.services import requeue_stalled_deliveries
    from ticketshop.payments.tasks import reconcile_if_due

    done = {}
    beat(worker_id=worker_id, started_at=started_at)
    ran, count = run_once_per(
        "delivery.requeue",
        every=timedelta(seconds=settings.DELIVERY_REQUEUE_EVERY_SECONDS),
        holder=worker_id,
        job=requeue_stalled_deliveries,
    )
    if ran:
        done["requeued"] = count
    ran, counts = reconcile_if_due(holder=worker_id)
    if ran:
        done["reconciled"] = counts
    ran, failed = run_once_per(
        "ops.fail-dead-tasks",
        every=timedelta(minutes=1),
        holder=worker_id,
        job=fail_tasks_of_dead_workers,
    )
    if ran and failed:
        done["failed_dead_tasks"] = failed
    if settings.SWISH_ENVIRONMENT in ("mss", "production"):
        # The network half of check_swish (TLS with Swish, an authenticated
        # read): hourly by one worker, each problem logged as an error.
        from ticketshop.payments.certificates import scheduled_check

        ran, count = run_once_per(
            "payments.check-swish",
            every=timedelta(hours=1),
            holder=worker_id,
            job=scheduled_check,
        )
        if ran and count:
            done["swish_problems"] = count
    # The waiting list: offers whose time ran out lapse and pass on, holds
    # that lapsed unnoticed and lost offer tasks are made good.
    from ticketshop.waitlist.services import offer_everywhere

    ran, made = run_once_per(
        "waitlist.offer",
        every=timedelta(seconds=WAITLIST_PASS_SECONDS),
        holder=worker_id,
        job=offer_everywhere,
    )
    if ran and made:
        done["waitlist_offers"] = made
    ran, _ = run_once_per(
        "ops.forget-workers",
        every=timedelta(hours=1),
        holder=worker_id,
        job=forget_old_workers,
    )
    if done:
        logger.debug("upkeep of %s: %s", worker_id, done)
    return done
