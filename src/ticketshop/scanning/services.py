"""Door rules: check a scanned ticket, record a use, log every scan."""

import fcntl
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone

from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.orders.selectors import effective_status

from .credentials import Scanner
from .errors import TicketDoesNotExist
from .models import ScanLog, ScanResult
from .selectors import ScannedTicket, get_ticket_for_scan

logger = logging.getLogger(__name__)

# The `status` a scanner limited to other events gets for a ticket.
WRONG_EVENT = "WrongEvent"
_MAX_LOGGED_ID = ScanLog._meta.get_field("external_id").max_length


@dataclass(frozen=True)
class ScanOutcome:
    ticket: ScannedTicket
    # Uses recorded before this request.
    times_used: int
    # The order's status as a buyer sees it, or WRONG_EVENT.
    status: str
    result: ScanResult

    @property
    def admitted(self) -> bool:
        return self.result == ScanResult.ADMITTED


def validate_ticket(
    *,
    scanner: Scanner,
    external_id: str,
    use_ticket: bool,
    client_address: str | None = None,
    now: datetime | None = None,
    offline_key: str | None = None,
) -> ScanOutcome:
    """Check a ticket and, if asked and the order is paid, add one use.

    The use is one UPDATE … SET times_used = times_used + 1 … RETURNING (see
    _add_use), so concurrent scans of one ticket each get a different
    count. Raises TicketDoesNotExist for an unknown id; every
    outcome, that one included, is logged.
    """
    now = now or timezone.now()
    log = ScanLog(
        scanner_id=scanner.account_id,
        scanner_name=scanner.name,
        scanned_at=now,
        external_id=external_id.strip()[:_MAX_LOGGED_ID],
        use_requested=use_ticket,
        client_address=client_address,
        # Unique: a scan synced twice fails its insert, and with it its use.
        offline_key=offline_key,
    )
    ticket = get_ticket_for_scan(external_id=external_id)
    if ticket is None:
        log.result = ScanResult.UNKNOWN
        with one_sqlite_writer():
            _insert_log(log)
        raise TicketDoesNotExist()
    log.ticket_id = ticket.pk
    log.event_id = ticket.event_id
    # The one rule of what a buyer's order reads as, given the fields it reads.
    status = effective_status(ticket.order, now=now)

    if not scanner.may_scan(ticket.event_id):
        outcome = ScanOutcome(
            ticket, ticket.times_used, WRONG_EVENT, ScanResult.WRONG_EVENT
        )
    elif use_ticket and ticket.order.status == OrderStatus.PAID:
        return _use(ticket=ticket, log=log, now=now)
    elif status == OrderStatus.PAID:
        outcome = ScanOutcome(ticket, ticket.times_used, status, ScanResult.VALID)
    else:
        outcome = ScanOutcome(ticket, ticket.times_used, status, ScanResult.NOT_PAID)
    with one_sqlite_writer():
        _save_log(log, outcome)
    return outcome


def _use(*, ticket: ScannedTicket, log: ScanLog, now: datetime) -> ScanOutcome:
    """Add one use of a paid order's ticket and log it, both or neither."""
    if connection.vendor == "postgresql":
        # One statement is its own transaction: no BEGIN and COMMIT to wait for.
        before = _add_use_and_log(
            log=log, ticket_id=ticket.pk, order_id=ticket.order_id
        )
        if before is not None:
            return ScanOutcome(ticket, before, OrderStatus.PAID, ScanResult.ADMITTED)
        with transaction.atomic(durable=True):
            return _refuse_use(ticket=ticket, log=log, now=now)
    with one_sqlite_writer(), transaction.atomic(durable=True):
        before = _add_use(ticket_id=ticket.pk, order_id=ticket.order_id)
        if before is None:
            return _refuse_use(ticket=ticket, log=log, now=now)
        outcome = ScanOutcome(ticket, before, OrderStatus.PAID, ScanResult.ADMITTED)
        _save_log(log, outcome)
        return outcome


def _refuse_use(*, ticket: ScannedTicket, log: ScanLog, now: datetime) -> ScanOutcome:
    """Log a use refused because the order stopped being paid since it was read."""
    order = Order.objects.get(pk=ticket.order_id)
    current = Ticket.objects.values_list("times_used", flat=True).get(pk=ticket.pk)
    outcome = ScanOutcome(
        ticket, current, effective_status(order, now=now), ScanResult.NOT_PAID
    )
    _save_log(log, outcome)
    return outcome


_writer_lock = threading.Lock()
_writer_files: dict[str, int] = {}


@contextmanager
def one_sqlite_writer():
    """On SQLite, queue this server's scan writes on an OS lock.

    SQLite admits one writer at a time, and a writer that finds the database
    locked sleeps in SQLite's busy handler (1, 2, 5 … up to 100 ms) before it
    looks again, while the lock may have been free long before: under a rush
    of scans that sleeping, not the work, sets the pace and the slowest
    answers. Threads of one process queue on a mutex, processes on flock()
    of a file beside the database; both wake the next writer at once.
    PostgreSQL locks the ticket's row only and needs none of this.
    """
    if connection.vendor != "sqlite":
        yield
        return
    path = f"{connection.settings_dict['NAME']}.scan-lock"
    with _writer_lock:
        fd = _writer_files.get(path)
        if fd is None:
            fd = _writer_files[path] = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _add_use_sql() -> str:
    """UPDATE … SET times_used = times_used + 1 … RETURNING, for a paid order."""
    qn = connection.ops.quote_name
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {qn(Ticket._meta.db_table)}"  # noqa: S608
        f" SET {qn('times_used')} = {qn('times_used')} + 1"
        f" WHERE {qn('id')} = %s AND EXISTS (SELECT 1 FROM"
        f" {qn(Order._meta.db_table)} WHERE {qn('id')} = %s AND {qn('status')} = %s)"
        f" RETURNING {qn('times_used')}"
    )


def _add_use(*, ticket_id: int, order_id: int) -> int | None:
    """Add one use if the order is paid; return the count before it, or None.

    The F("times_used") + 1 update written out, because Django's ORM cannot
    return the updated value: the database increments the row it has locked
    and RETURNING hands back the new count, so concurrent scans of one
    ticket each get a count of their own, on PostgreSQL (row lock) and
    SQLite (one writer at a time) alike. The order's status is part of the
    statement, so a refund that commits first stops the use.
    """
    with connection.cursor() as cursor:
        cursor.execute(_add_use_sql(), [ticket_id, order_id, OrderStatus.PAID])
        row = cursor.fetchone()
    return None if row is None else row[0] - 1


def _add_use_and_log(*, log: ScanLog, ticket_id: int, order_id: int) -> int | None:
    """PostgreSQL: _add_use and the log row of the admission in one statement.

    The log row is inserted from the UPDATE's RETURNING (a data-modifying
    WITH), so it exists exactly when the use does.
    """
    qn = connection.ops.quote_name
    log.result = ScanResult.ADMITTED
    values, params = [], []
    for field in _LOG_FIELDS:
        if field.name == "times_used_before":
            values.append(f"used.{qn('times_used')} - 1")
        else:
            values.append(f"CAST(%s AS {field.cast_db_type(connection)})")
            params.append(
                field.get_db_prep_save(getattr(log, field.attname), connection)
            )
    columns = ", ".join(qn(f.column) for f in _LOG_FIELDS)
    sql = (
        f"WITH used AS ({_add_use_sql()})"  # noqa: S608
        f" INSERT INTO {qn(ScanLog._meta.db_table)} ({columns})"
        f" SELECT {', '.join(values)} FROM used"
        f" RETURNING {qn('times_used_before')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket_id, order_id, OrderStatus.PAID, *params])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _save_log(log: ScanLog, outcome: ScanOutcome) -> None:
    log.result = outcome.result
    log.times_used_before = outcome.times_used
    _insert_log(log)
    logger.debug(
        "scan ticket=%s scanner=%s result=%s times_used=%s",
        outcome.ticket.external_id,
        log.scanner_name,
        outcome.result,
        outcome.times_used,
    )


_LOG_FIELDS = [f for f in ScanLog._meta.concrete_fields if not f.primary_key]


@lru_cache(maxsize=4)
def _insert_log_sql(vendor: str) -> str:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in _LOG_FIELDS)
    values = ", ".join(["%s"] * len(_LOG_FIELDS))
    table = qn(ScanLog._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608


def _insert_log(log: ScanLog) -> None:
    """Insert the log row, as log.save() would, without compiling a query.

    Each value goes through its field's get_db_prep_save(), as the ORM's own
    insert does; the log's id is not read back (nothing needs it).
    """
    params = [
        f.get_db_prep_save(getattr(log, f.attname), connection) for f in _LOG_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_log_sql(connection.vendor), params)
