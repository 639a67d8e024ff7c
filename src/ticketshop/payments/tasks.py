"""Background work of payments, run by the django-tasks worker (db_worker)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def reconcile_payments_periodically() -> dict:
    """Reconcile open Swish payments, then queue the next run.

    The next run is queued first, so a failing pass does not end the chain;
    schedule_reconciliation() keeps at most one run waiting.
    """
    from .services import reconcile_payments

    schedule_reconciliation(delay=settings.SWISH_RECONCILE_EVERY_SECONDS)
    return reconcile_payments()


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
