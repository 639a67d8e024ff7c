"""The seat lock and the SQLite writer gate: the shop's one way to serialise.

Seats are guarded by a lock on the event's row, taken inside the durable
transaction that counts and writes them:

- PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` on the event row, with the
  transaction's ``lock_timeout`` set in the same statement (``NO KEY``: it
  excludes every other seat lock, but not the key-share lock that inserting
  a row which refers to the event takes, so a transaction holding an order
  lock never waits on a seat lock just to write a ticket or a log row);
- SQLite: the database's write lock, which ``BEGIN IMMEDIATE`` takes (the
  whole database is one lock), behind the writer gate below.

A lock not granted within its timeout raises ``Busy`` (503 with
``Retry-After``), never a hang and never a 500. Every writer that competes
for seats or uses (reservations, payments, organiser actions, door scans)
enters through ``run_locked`` or ``writer_gate``.
"""

import contextlib
import fcntl
import logging
import os
import threading
import time
from functools import cache

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction

from ticketshop.events.errors import Busy, EventDoesNotExist
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import SeatCounter

from . import sql

logger = logging.getLogger(__name__)


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


def lock_event(*, event_id: int) -> ChapterEvent:
    """Lock the event row for the rest of the transaction and return it fresh.

    PostgreSQL takes a row lock (``SELECT … FOR NO KEY UPDATE``) with a lock
    timeout, then the event's seat counter (``orders.models.SeatCounter``),
    which it sets to unknown: a reservation that takes no seat lock checks
    only that counter, so while this transaction may take seats without
    counting them there, the counter must not let one through. It waits
    for such reservations in flight, so a count taken after this sees them.
    ``orders.seats.check_capacity`` sets it exact again; a rollback restores
    it. SQLite already holds the database's write lock since ``BEGIN
    IMMEDIATE``. A lock not granted in time raises ``Busy`` (the
    transaction is then unusable and must be left). Raises
    ``EventDoesNotExist`` for no such event.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_event() must run inside a transaction")
    if connection.vendor != "postgresql":
        with busy_on_lock_timeout(), connection.cursor() as cursor:
            cursor.execute(_lock_event_sql(connection.alias), [event_id])
            return _locked_event(cursor.fetchone())
    # The lock timeout is set by the same statement, in its WHERE clause:
    # PostgreSQL locks a row only after the row has passed every condition,
    # so the setting is in force by then; one round trip less.
    timeout_ms = int(settings.SEAT_LOCK_TIMEOUT_SECONDS * 1000)
    lock_params = [event_id, f"{timeout_ms}ms"]
    counter_sql = _unknown_counter_sql(connection.alias)
    with busy_on_lock_timeout(), connection.cursor() as cursor:
        if _client_side_binding(cursor):
            # One query string, two statements, in this order: the counter
            # only after the event's lock (the lock order of lock_event).
            cursor.execute(
                f"{_lock_event_sql(connection.alias)}; {counter_sql}",
                [*lock_params, event_id],
            )
            row = cursor.fetchone()
        else:
            cursor.execute(_lock_event_sql(connection.alias), lock_params)
            row = cursor.fetchone()
            cursor.execute(counter_sql, [event_id])
    return _locked_event(row)


@contextlib.contextmanager
def busy_on_lock_timeout():
    """A lock wait that timed out becomes ``Busy``; other errors pass."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise _busy() from exc
        raise


def _locked_event(row) -> ChapterEvent:
    """The event read under the lock, or ``EventDoesNotExist``."""
    if row is None:
        raise EventDoesNotExist()
    return sql.row_reader(connection.alias, ChapterEvent).read(row)


@cache
def _lock_event_sql(alias: str) -> str:
    """Return the event read of ``lock_event``, built once per process: the
    ORM's query building took more CPU than the read, under the lock."""
    # Only quoted names from the models go into the text; values are params.
    text = (
        f"SELECT {sql.select_columns(alias, ChapterEvent)}"  # noqa: S608
        f" FROM {sql.table(ChapterEvent)}"
        f" WHERE {sql.column(ChapterEvent, 'pk')} = %s"
    )
    if connections[alias].vendor == "postgresql":
        text += (
            " AND set_config('lock_timeout', %s, true) IS NOT NULL FOR NO KEY UPDATE"
        )
    return text


@cache
def _unknown_counter_sql(alias: str) -> str:
    """PostgreSQL: create or lock the event's seat counter and set it unknown
    (NULL); nothing for a missing event (``lock_event`` then raises)."""
    key = sql.column(SeatCounter, "event", "")
    held = sql.column(SeatCounter, "held", "")
    # Only quoted names from the models go into the text; values are params.
    return (
        f"INSERT INTO {sql.table(SeatCounter)} ({key}, {held})"  # noqa: S608
        f" SELECT {sql.column(ChapterEvent, 'pk')}, NULL"
        f" FROM {sql.table(ChapterEvent)}"
        f" WHERE {sql.column(ChapterEvent, 'pk')} = %s"
        f" ON CONFLICT ({key}) DO UPDATE SET {held} = NULL"
    )


def _client_side_binding(cursor) -> bool:
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)
