import contextlib
import fcntl
import functools
import logging
import os
import threading
import time

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction

from ticketshop.sql import row_reader, select_columns

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
    params: list = [event_id]
    if connection.vendor == "postgresql":
        # The lock timeout is set by the same statement, in its WHERE clause:
        # PostgreSQL locks a row only after the row has passed every
        # condition, so the setting is in force by then; one round trip less.
        timeout_ms = int(settings.SEAT_LOCK_TIMEOUT_SECONDS * 1000)
        params.append(f"{timeout_ms}ms")
    try:
        with connection.cursor() as cursor:
            cursor.execute(_lock_event_sql(connection.alias), params)
            row = cursor.fetchone()
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy(settings.BUSY_RETRY_AFTER_SECONDS) from exc
        raise
    if row is None:
        raise EventDoesNotExist()
    return row_reader(connection.alias, ChapterEvent).read(row)


@functools.cache
def _lock_event_sql(alias: str) -> str:
    """Return the event read of ``lock_event``, built once per process: the
    ORM's query building took more CPU than the read, under the lock."""
    quote = connections[alias].ops.quote_name
    meta = ChapterEvent._meta
    # Only quoted names from the models go into the text; values are params.
    sql = (
        f"SELECT {select_columns(alias, ChapterEvent)}"  # noqa: S608
        f" FROM {quote(meta.db_table)}"
        f" WHERE {quote(meta.db_table)}.{quote(meta.pk.column)} = %s"
    )
    if connections[alias].vendor == "postgresql":
        sql += " AND set_config('lock_timeout', %s, true) IS NOT NULL FOR UPDATE"
    return sql


def is_lock_timeout(exc: BaseException) -> bool:
    """Tell whether a database error means a lock was not granted in time."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return True
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


class _SQLiteWriteGate:
    """Queue this machine's seat-lock writers on a lock file beside the SQLite
    database before ``BEGIN IMMEDIATE``.

    SQLite's own busy handler retries after sleeping 1, 2, 5, 10, 15, 20,
    25 ms and so on, so a writer that finds the database locked idles long
    after the lock is free, and one unlucky writer may wait many rounds. Here
    the threads of a process queue on a lock, and the processes poll a file
    lock at most a millisecond apart. It only orders writers: the capacity
    rule still rests on SQLite's write lock, which is taken as before.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, int] = {}

    def path(self) -> str | None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "sqlite" or not name or "memory" in name:
            return None
        return f"{name}-seatlock"

    @contextlib.contextmanager
    def held(self):
        path = self.path()
        if path is None:
            yield
            return
        timeout = connection.settings_dict["OPTIONS"].get("timeout", 5.0)
        deadline = time.monotonic() + timeout
        if not self.lock.acquire(timeout=timeout):
            raise Busy(settings.BUSY_RETRY_AFTER_SECONDS)
        try:
            fd = self.files.get(path)
            if fd is None:
                fd = self.files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.00005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Busy(settings.BUSY_RETRY_AFTER_SECONDS) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


_sqlite_write_gate = _SQLiteWriteGate()


def run_locked(fn, /, **kwargs):
    """Run ``fn(**kwargs)`` in a durable transaction; a lock wait that times out
    (SQLite's busy timeout at BEGIN IMMEDIATE, PostgreSQL's lock_timeout)
    raises ``Busy`` instead of a server error."""
    try:
        with _sqlite_write_gate.held(), transaction.atomic(durable=True):
            return fn(**kwargs)
    except OperationalError as exc:
        if is_lock_timeout(exc):
            logger.warning("seat lock not granted: %s", exc)
            raise Busy(settings.BUSY_RETRY_AFTER_SECONDS) from exc
        raise
