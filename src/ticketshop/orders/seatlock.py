"""The event's seat lock and its seat counter: the one module that writes
``SeatCounter`` and takes the seat lock.

Seats are guarded by a lock on the event's row, taken inside the durable
transaction that counts and writes them (``lock_event``):

- PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` on the event row, with the
  transaction's ``lock_timeout`` set in the same statement (``NO KEY``: it
  excludes every other seat lock, but not the key-share lock that inserting
  a row which refers to the event takes, so a transaction holding an order
  lock never waits on a seat lock just to write a ticket or a log row);
- SQLite: the database's write lock, which ``BEGIN IMMEDIATE`` takes (the
  whole database is one lock), behind the writer gate (``db.locks``).

A lock not granted within its timeout raises ``Busy`` (503 with
``Retry-After``), never a hang and never a 500.

The seat counter (``models.SeatCounter``, on both databases) is a bound
never below the live tickets, or unknown (NULL). Its protocol, all here:

- **set unknown**: ``lock_event`` sets it to NULL with the lock, so a
  reservation that takes no seat lock cannot slip past tickets that the
  lock holder may write without counting them there;
- **set exact**: ``set_counter_exact``, once ``seats.check_capacity`` has
  counted the seats under the lock and the tickets fit (only a counter
  that the lock made unknown: a count taken without the lock could miss a
  reservation in flight);
- **increment**: ``take_seats_sql``, the first part of the lock-free
  reservation's one statement on PostgreSQL (``lifecycle.reserve``), adds
  its tickets where they still fit under the event's seats; on SQLite
  ``take_seats`` does the same inside the writer's transaction, so a
  reservation there costs the same however many holds the event has.

A rollback restores the counter with everything else.
"""

from functools import cache

from django.conf import settings
from django.db import connection, connections

from ticketshop.db import sql
from ticketshop.db.locks import Busy, busy_on_lock_timeout
from ticketshop.events.errors import EventDoesNotExist
from ticketshop.events.models import ChapterEvent

from .models import SeatCounter

__all__ = [
    "Busy",
    "lock_event",
    "set_counter_exact",
    "take_seats",
    "take_seats_sql",
]


def lock_event(*, event_id: int) -> ChapterEvent:
    """Lock the event row for the rest of the transaction and return it fresh.

    PostgreSQL takes a row lock (``SELECT … FOR NO KEY UPDATE``) with a lock
    timeout, then the event's seat counter, which it sets to unknown: a
    reservation that takes no seat lock checks only that counter, so while
    this transaction may take seats without counting them there, the
    counter must not let one through. It waits for such reservations in
    flight, so a count taken after this sees them. ``set_counter_exact``
    sets it exact again; a rollback restores it. SQLite already holds the
    database's write lock since ``BEGIN IMMEDIATE``. A lock not granted in
    time raises ``Busy`` (the transaction is then unusable and must be
    left). Raises ``EventDoesNotExist`` for no such event.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_event() must run inside a transaction")
    if connection.vendor != "postgresql":
        # SQLite: the write lock is the database's; the counter is set
        # unknown here as on PostgreSQL, so that whatever this transaction
        # writes is counted before the counter lets a reservation through.
        with busy_on_lock_timeout(), connection.cursor() as cursor:
            cursor.execute(_lock_event_sql(connection.alias), [event_id])
            event = _locked_event(cursor.fetchone())
            cursor.execute(_unknown_counter_sql(connection.alias), [event_id])
            return event
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


def set_counter_exact(*, event_id: int, held: int) -> None:
    """The seats are counted under the seat lock and fit; set the counter
    (made unknown by ``lock_event``) to ``held``, the live tickets with those
    about to be written."""
    with connection.cursor() as cursor:
        cursor.execute(_set_counter_sql(connection.alias), [held, event_id])
        if cursor.rowcount != 1:
            raise RuntimeError("check_capacity() must follow lock_event()")


def take_seats(*, event_id: int, tickets: int, now) -> ChapterEvent | None:
    """SQLite: the seat counter's lock-free path, inside the writer's
    transaction (``BEGIN IMMEDIATE`` holds the database's write lock, so
    nothing else writes between these two statements): read the event, and
    add ``tickets`` to its counter if the counter is known and they fit
    under its seats and sales have not stopped. Returns the event when they
    were added, else None (the caller then takes ``lock_event`` and counts).
    Its cost does not grow with the event's live holds: no count is taken.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("take_seats() must run inside a transaction")
    with busy_on_lock_timeout(), connection.cursor() as cursor:
        cursor.execute(_lock_event_sql(connection.alias), [event_id])
        row = cursor.fetchone()
        if row is None:
            return None
        event = _locked_event(row)
        if event.sales_stop_at <= now:
            return None
        cursor.execute(
            _take_seats_sqlite_sql(connection.alias),
            [tickets, event_id, tickets, event.seats],
        )
        return event if cursor.rowcount == 1 else None


@cache
def _take_seats_sqlite_sql(alias: str) -> str:
    held = sql.column(SeatCounter, "held", "")
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(SeatCounter)}"  # noqa: S608
        f" SET {held} = {held} + %s"
        f" WHERE {sql.column(SeatCounter, 'event', '')} = %s"
        f" AND {held} IS NOT NULL AND {held} + %s <= %s"
    )


@cache
def take_seats_sql(alias: str) -> str:
    """PostgreSQL: an ``UPDATE`` of the event's seat counter that adds the
    tickets if the counter is known and they fit under the event's seats,
    and its sales have not stopped; it returns the event's
    ``reservation_minutes`` (under that column's name), or no row.

    Parameters: the number of tickets; the event id and now (still on
    sale); the number of tickets again; the lock timeout (set where the
    counter's row has passed every condition, before it is locked).
    Meant as the first query of a data-modifying ``WITH``; the counter's row
    lock is then held to the commit."""
    held = sql.column(SeatCounter, "held", "")
    event = sql.column(SeatCounter, "event", "c")
    hold = sql.column(ChapterEvent, "reservation_minutes", "")
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(SeatCounter, 'c')}"  # noqa: S608
        f" SET {held} = c.{held} + CAST(%s AS integer)"
        f" FROM {sql.table(ChapterEvent, 'e')}"
        f" WHERE {event} = %s"
        f" AND {sql.column(ChapterEvent, 'pk', 'e')} = {event}"
        f" AND {sql.column(ChapterEvent, 'sales_stop_at', 'e')} > %s"
        f" AND c.{held} + CAST(%s AS integer)"
        f" <= {sql.column(ChapterEvent, 'seats', 'e')}"
        " AND set_config('lock_timeout', %s, true) IS NOT NULL"
        f" RETURNING {sql.column(ChapterEvent, 'reservation_minutes', 'e')}"
        f" AS {hold}"
    )


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


@cache
def _set_counter_sql(alias: str) -> str:
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(SeatCounter)}"  # noqa: S608
        f" SET {sql.column(SeatCounter, 'held', '')} = %s"
        f" WHERE {sql.column(SeatCounter, 'event', '')} = %s"
        f" AND {sql.column(SeatCounter, 'held', '')} IS NULL"
    )


def _client_side_binding(cursor) -> bool:
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)
