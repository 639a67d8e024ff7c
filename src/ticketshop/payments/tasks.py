"""Background work of payments, run by the task workers.

Reconciliation runs once per SWISH_RECONCILE_EVERY_SECONDS across all
workers of a shop, whichever way it is started (each worker's upkeep,
``reconcile_payments --every``, or the periodic task below): a lease row
(ticketshop.leases) lets one of them run each period.

Refunds are sent here too (send_refund_task), one at a time per worker and
at least SWISH_REFUND_SPACING_SECONDS apart across all workers.
"""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from ticketshop.leases.services import run_once_per
from ticketshop.statemachine.machine import acting_as

logger = logging.getLogger(__name__)

RECONCILE_LEASE = "payments.reconcile"


def reconcile_if_due(*, holder: str) -> tuple[bool, dict | None]:
    """Reconcile if no process has done so this period; (ran, counts)."""
    from .reconcile import reconcile_payments

    # History rows written by the pass name it.
    with acting_as("reconcile"):
        return run_once_per(
            RECONCILE_LEASE,
            every=timedelta(seconds=settings.SWISH_RECONCILE_EVERY_SECONDS),
            holder=holder,
            job=reconcile_payments,
        )


@task()
def reconcile_payments_periodically() -> dict:
    """Reconcile open Swish payments (if due), then queue the next run.

    The next run is queued first, so a failing pass does not end the chain;
    schedule_reconciliation() keeps at most one run waiting. Workers started
    with ``run_worker`` reconcile without this chain; it remains for plain
    ``db_worker`` set-ups.
    """
    schedule_reconciliation(delay=settings.SWISH_RECONCILE_EVERY_SECONDS)
    ran, counts = reconcile_if_due(holder="periodic-task")
    return counts if ran else {"skipped": "another process reconciled this period"}


def schedule_reconciliation(*, delay: float = 0) -> bool:
    """Queue a reconciliation run unless one is already waiting; return
    whether one was queued."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=reconcile_payments_periodically.module_path, status="READY"
    ).exists()
    if waiting:
        return False
    reconcile_payments_periodically.using(
        run_after=timezone.now() + timedelta(seconds=delay)
    ).enqueue()
    return True


@task()
def send_refund_task(refund_pk: int) -> str:
    """Send a recorded refund to Swish (queued in the transaction that
    decided it); see refund_send.send_refund. A task lost with its worker is
    made good by reconciliation, which resends refunds left CREATING."""
    from .refund_send import send_refund

    with acting_as("worker"):
        return send_refund(refund_pk=refund_pk, holder=f"worker pid {os.getpid()}")


@task(queue_name="swish-reads", priority=10)
def read_payment_task(payment_pk: int) -> str:
    """Read a payment request from Swish and apply what it says, if due and
    nobody else is reading it. The workers' read loops read payments
    without a task (reads.py); this runs read tasks queued before them."""
    from .reads import read_payment

    return read_payment(payment_pk=payment_pk)


@task(queue_name="swish-reads", priority=10)
def read_refund_task(refund_pk: int) -> str:
    """Read a refund from Swish and apply what it says (queued by its
    callback; reconciliation reads the open ones anyway)."""
    from .models import REFUND_OPEN, SwishRefund
    from .refund_send import refresh_refund

    refund = SwishRefund.objects.filter(pk=refund_pk, status__in=REFUND_OPEN).first()
    if refund is None:
        return "settled"
    with acting_as("worker"):
        refresh_refund(refund=refund)
    return "read"
