import logging

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .errors import Busy, EventDoesNotExist
from .models import ChapterEvent

logger = logging.getLogger(__name__)


def lock_event(*, event_id: int) -> ChapterEvent:
    """Lock the event row for the rest of the transaction and return it fresh.

    PostgreSQL takes a row lock (``SELECT … FOR UPDATE``) with a lock timeout;
    SQLite already holds the database's write lock since ``BEGIN IMMEDIATE``.
    A lock not granted in time raises ``Busy`` (the transaction is then
    unusable and must be left).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_event() must run inside a transaction")
    if connection.vendor == "postgresql":
        timeout_ms = int(settings.SEAT_LOCK_TIMEOUT_SECONDS * 1000)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{timeout_ms}ms"]
            )
        queryset = ChapterEvent.objects.select_for_update()
    else:
        queryset = ChapterEvent.objects.all()
    try:
        event = queryset.filter(pk=event_id).first()
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy(settings.BUSY_RETRY_AFTER_SECONDS) from exc
        raise
    if event is None:
        raise EventDoesNotExist()
    return event


def is_lock_timeout(exc: BaseException) -> bool:
    """Tell whether a database error means a lock was not granted in time."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return True
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def run_locked(fn, /, **kwargs):
    """Run ``fn(**kwargs)`` in a durable transaction; a lock wait that times out
    (SQLite's busy timeout at BEGIN IMMEDIATE, PostgreSQL's lock_timeout)
    raises ``Busy`` instead of a server error."""
    try:
        with transaction.atomic(durable=True):
            return fn(**kwargs)
    except OperationalError as exc:
        if is_lock_timeout(exc):
            logger.warning("seat lock not granted: %s", exc)
            raise Busy(settings.BUSY_RETRY_AFTER_SECONDS) from exc
        raise
