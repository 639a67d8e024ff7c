"""Locks at the database engine's level, knowing no model: the SQLite
writer gate, the durable transaction behind it, and ``Busy``.

A lock not granted within its timeout raises ``Busy`` (503 with
``Retry-After``), never a hang and never a 500. Every writer that competes
for seats or uses (reservations, payments, organiser actions, door scans)
enters through ``run_locked`` or ``writer_gate``. The event's seat lock and
its seat counter, which know the shop's models, are ``orders.seatlock``.
"""

import contextlib
import fcntl
import logging
import os
import threading
import time

from django.conf import settings
from django.db import OperationalError, connection, transaction

from ticketshop.errors import ShopError

logger = logging.getLogger(__name__)


class Busy(ShopError):
    """A lock (the event's seat lock, the SQLite writer gate) was not granted
    in time; nothing was written."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"seat lock not granted; retry after {retry_after}s")
        self.retry_after = retry_after


def is_lock_timeout(exc: BaseException) -> bool:
    """Tell whether a database error means a lock was not granted in time."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return True
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def _busy() -> Busy:
    return Busy(settings.BUSY_RETRY_AFTER_SECONDS)


class _SQLiteWriterGate:
    """Queue this machine's SQLite writers on one lock file beside the database.

    SQLite's own busy handler retries after sleeping 1, 2, 5, 10, 15, 20,
    25 ms and so on, so a writer that finds the database locked idles long
    after the lock is free, and one unlucky writer may wait many rounds.
    Here the threads of a process queue on a mutex and the processes poll a
    file lock at most a millisecond apart, so the next writer starts at
    once. A writer that waits longer than SQLite's busy timeout gets
    ``Busy``. The gate only orders writers: correctness still rests on
    SQLite's write lock, taken at ``BEGIN IMMEDIATE`` as before. PostgreSQL
    needs none of it (row locks).
    """

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.files: dict[str, int] = {}

    @staticmethod
    def path() -> str | None:
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
        if not self.mutex.acquire(timeout=timeout):
            logger.warning("SQLite writer gate: not entered within %ss", timeout)
            raise _busy()
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
                        logger.warning(
                            "SQLite writer gate: not entered within %ss", timeout
                        )
                        raise _busy() from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self.mutex.release()


_gate = _SQLiteWriterGate()


def writer_gate():
    """Context manager: enter the SQLite writer gate (nothing on PostgreSQL).

    Raises ``Busy`` when it is not entered within SQLite's busy timeout.
    """
    return _gate.held()


def run_locked(fn, /, **kwargs):
    """Run ``fn(**kwargs)`` in a durable transaction behind the writer gate.

    A lock wait that times out (the gate, SQLite's busy timeout at
    ``BEGIN IMMEDIATE``, PostgreSQL's ``lock_timeout``) raises ``Busy``, and
    the transaction is rolled back whole.
    """
    try:
        with writer_gate(), transaction.atomic(durable=True):
            return fn(**kwargs)
    except OperationalError as exc:
        if is_lock_timeout(exc):
            logger.warning("seat lock not granted: %s", exc)
            raise _busy() from exc
        raise


@contextlib.contextmanager
def busy_on_lock_timeout():
    """A lock wait that timed out becomes ``Busy``; other errors pass."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise _busy() from exc
        raise
