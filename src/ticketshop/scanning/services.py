"""Door rules: check a scanned ticket, record a use, log every scan."""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.db.locks import writer_gate
from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.orders.selectors import effective_status

from .credentials import Scanner
from .errors import TicketDoesNotExist
from .models import ScanLog, ScanResult
from .revocation import Revocation, revocation_of
from .selectors import (
    TICKET_WIDTH,
    ScannedTicket,
    get_ticket_for_scan,
    normalise_external_id,
    scanned_ticket,
    ticket_select_sql,
)

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
    # Why a refused ticket no longer opens the door (refunded, exchanged,
    # cancelled); None when it does, or when its order was never paid.
    revocation: Revocation | None = None

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
    first_use_only: bool = False,
) -> ScanOutcome:
    """Check a ticket and, if asked and the order is paid, add one use.

    With ``first_use_only`` the use is added only to a ticket not used yet
    (the scanner page's "admit at once on scan"): a used ticket is then only
    checked, and door staff choose whether to let it in again.

    The use is one UPDATE … SET times_used = times_used + 1 … RETURNING (see
    _add_use), so concurrent scans of one ticket each get a different
    count. On PostgreSQL a scan asking for a use is one statement: the
    ticket's read, the use and its log row (_read_and_use). Raises
    TicketDoesNotExist for an unknown id; every outcome, that one included,
    is logged.
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
    key = normalise_external_id(external_id)
    ticket, use_refused = None, False
    if use_ticket and key and connection.vendor == "postgresql":
        tried = _read_and_use(
            log=log,
            stored_id=key,
            scanner=scanner,
            first_use_only=first_use_only,
        )
        if tried is not None:
            ticket, before = tried
            if before is not None:
                admitted = ScanResult.ADMITTED
                return ScanOutcome(ticket, before, OrderStatus.PAID, admitted)
            use_refused = True
    if ticket is None:
        ticket = get_ticket_for_scan(external_id=external_id)
    if ticket is None:
        log.result = ScanResult.UNKNOWN
        with writer_gate():
            _insert_log(log)
        raise TicketDoesNotExist()
    return _decide(
        ticket=ticket,
        log=log,
        scanner=scanner,
        use_ticket=use_ticket,
        now=now,
        first_use_only=first_use_only,
        use_refused=use_refused,
    )


def _decide(
    *,
    ticket: ScannedTicket,
    log: ScanLog,
    scanner: Scanner,
    use_ticket: bool,
    now: datetime,
    first_use_only: bool,
    use_refused: bool,
) -> ScanOutcome:
    """The door's rules on a ticket read: add the use, or log why not.

    ``use_refused``: the read came with a use that the database refused
    (_read_and_use), so a ticket that reads as usable changed meanwhile.
    """
    log.ticket_id = ticket.pk
    log.event_id = ticket.event_id
    # The one rule of what a buyer's order reads as, given the fields it reads;
    # a ticket cancelled alone reads as cancelled by an organiser.
    status = (
        OrderStatus.FAILED_ADMIN
        if ticket.cancelled
        else effective_status(ticket.order, now=now)
    )

    if not scanner.may_scan(ticket.event_id):
        outcome = ScanOutcome(
            ticket, ticket.times_used, WRONG_EVENT, ScanResult.WRONG_EVENT
        )
    elif (
        use_ticket
        and status == OrderStatus.PAID
        and not (first_use_only and ticket.times_used > 0)
    ):
        if use_refused:
            with transaction.atomic(durable=True):
                return _refuse_use(ticket=ticket, log=log, now=now)
        return _use(
            ticket=ticket,
            log=log,
            now=now,
            scanner=scanner,
            first_use_only=first_use_only,
        )
    elif status == OrderStatus.PAID:
        outcome = ScanOutcome(ticket, ticket.times_used, status, ScanResult.VALID)
    else:
        outcome = ScanOutcome(
            ticket,
            ticket.times_used,
            status,
            ScanResult.NOT_PAID,
            _revocation(ticket, cancelled=ticket.cancelled),
        )
    with writer_gate():
        _save_log(log, outcome)
    return outcome


def _revocation(ticket: ScannedTicket, *, cancelled: bool) -> Revocation | None:
    return revocation_of(
        external_id=ticket.external_id,
        order_id=ticket.order_id,
        ticket_event_id=ticket.event_id,
        cancelled=cancelled,
    )


def _use(
    *,
    ticket: ScannedTicket,
    log: ScanLog,
    now: datetime,
    scanner: Scanner,
    first_use_only: bool,
) -> ScanOutcome:
    """Add one use of a paid order's ticket and log it, both or neither."""
    if connection.vendor == "postgresql":
        # A ticket found by its id in another case: the one statement by the
        # id as stored.
        tried = _read_and_use(
            log=log,
            stored_id=ticket.external_id,
            scanner=scanner,
            first_use_only=first_use_only,
        )
        if tried is not None and tried[1] is not None:
            admitted = ScanResult.ADMITTED
            return ScanOutcome(tried[0], tried[1], OrderStatus.PAID, admitted)
        with transaction.atomic(durable=True):
            return _refuse_use(ticket=ticket, log=log, now=now)
    with writer_gate(), transaction.atomic(durable=True):
        before = _add_use(
            ticket_id=ticket.pk,
            order_id=ticket.order_id,
            first_use_only=first_use_only,
        )
        if before is None:
            return _refuse_use(ticket=ticket, log=log, now=now)
        outcome = ScanOutcome(ticket, before, OrderStatus.PAID, ScanResult.ADMITTED)
        _save_log(log, outcome)
        return outcome


def _refuse_use(*, ticket: ScannedTicket, log: ScanLog, now: datetime) -> ScanOutcome:
    """Log a use refused because the order stopped being paid since it was
    read, or (first use only) because another door used the ticket first."""
    order = Order.objects.get(pk=ticket.order_id)
    current, cancelled_at = Ticket.objects.values_list(
        "times_used", "cancelled_at"
    ).get(pk=ticket.pk)
    status = (
        OrderStatus.FAILED_ADMIN
        if cancelled_at is not None
        else effective_status(order, now=now)
    )
    if status == OrderStatus.PAID:
        outcome = ScanOutcome(ticket, current, status, ScanResult.VALID)
    else:
        outcome = ScanOutcome(
            ticket,
            current,
            status,
            ScanResult.NOT_PAID,
            _revocation(ticket, cancelled=cancelled_at is not None),
        )
    _save_log(log, outcome)
    return outcome


@cache
def _add_use_sql(alias: str, first_use_only: bool = False) -> str:
    """UPDATE … SET times_used = times_used + 1 … RETURNING, for a ticket
    not cancelled of a paid order (and not used yet, with first_use_only);
    parameters: ticket id, order id, PAID."""

    used = sql.column(Ticket, "times_used", "")
    unused = f" AND {used} = 0" if first_use_only else ""
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(Ticket)}"  # noqa: S608
        f" SET {used} = {used} + 1"
        f" WHERE {sql.column(Ticket, 'pk')} = %s"
        f" AND {sql.column(Ticket, 'cancelled_at')} IS NULL{unused}"
        f" AND EXISTS (SELECT 1 FROM {sql.table(Order)}"
        f" WHERE {sql.column(Order, 'pk')} = %s AND {sql.column(Order, 'status')} = %s)"
        f" RETURNING {used}"
    )


def _add_use(*, ticket_id: int, order_id: int, first_use_only: bool) -> int | None:
    """SQLite: add one use if the order is paid; return the count before
    it, or None.

    The F("times_used") + 1 update written out, because Django's ORM cannot
    return the updated value: the database increments the row it has locked
    and RETURNING hands back the new count, so concurrent scans of one
    ticket each get a count of their own (one writer at a time; PostgreSQL's
    _read_and_use_sql does the same under the ticket's row lock). The
    order's status is part of the statement, so a refund that commits first
    stops the use.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _add_use_sql(connection.alias, first_use_only),
            [ticket_id, order_id, OrderStatus.PAID],
        )
        row = cursor.fetchone()
    return None if row is None else row[0] - 1


def _read_and_use(
    *, log: ScanLog, stored_id: str, scanner: Scanner, first_use_only: bool
) -> tuple[ScannedTicket, int | None] | None:
    """PostgreSQL: read the ticket, add its use and log the admission, all in
    one statement (_read_and_use_sql), when the door's rules allow the use.

    Returns the ticket as read with the count before the use, or with None
    when the rules (or a change since the read) refused the use: then nothing
    is logged yet. Returns None when no ticket has exactly ``stored_id``
    (the caller then looks it up in any case, as get_ticket_for_scan does).
    """
    log.result = ScanResult.ADMITTED
    params = [
        field.get_db_prep_save(getattr(log, field.attname), connection)
        for field in _LOG_FIELDS
        if field.name not in _LOG_FROM_ROW
    ]
    events = None if scanner.event_ids is None else sorted(scanner.event_ids)
    with sql.prepared_cursor(connection.alias) as cursor:
        cursor.execute(
            _read_and_use_sql(connection.alias, first_use_only),
            [stored_id, events, events, OrderStatus.PAID, *params],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    ticket = scanned_ticket(row)
    used = row[TICKET_WIDTH]
    if used is None:
        return ticket, None
    log.ticket_id = ticket.pk
    log.event_id = ticket.event_id
    return ticket, used - 1


# The log row's columns that _read_and_use_sql takes from the ticket's row
# and the use, not from parameters.
_LOG_FROM_ROW = ("ticket", "event", "times_used_before")


@cache
def _read_and_use_sql(alias: str, first_use_only: bool = False) -> str:
    """The ticket's read (``t``), its use if the door's rules allow it
    (``used``: not cancelled, of an event the scanner may scan, of a paid
    order, not used yet with first_use_only) and the admission's log row
    (``logged``) in one data-modifying ``WITH``; parameters: the id, the
    scanner's events (twice; NULL for every event), PAID, then the log row's
    values but ticket, event and times_used_before.

    The ticket's row is locked by the UPDATE and its conditions checked again
    on the row's latest version, so concurrent scans each get a count of
    their own, as _add_use's do.
    """
    names = [f"c{i}" for i in range(TICKET_WIDTH)]
    ticket_id, event_id, order_id = "t.c0", "t.c3", "t.c4"
    table = sql.table(Ticket)
    used = sql.column(Ticket, "times_used")
    bare = sql.column(Ticket, "times_used", "")
    unused = f" AND {used} = 0" if first_use_only else ""
    from_row = {
        "ticket": ticket_id,
        "event": event_id,
        "times_used_before": f"used.{bare} - 1",
    }
    values = [
        from_row.get(field.name, f"CAST(%s AS {field.cast_db_type(connection)})")
        for field in _LOG_FIELDS
    ]
    columns = ", ".join(sql.column(ScanLog, f.name, "") for f in _LOG_FIELDS)
    match = f"{sql.column(Ticket, 'external_id', 't')} = %s"
    # Only quoted names from the models go into the text; values are params.
    return (
        f"WITH t ({', '.join(names)}) AS"  # noqa: S608
        f" ({ticket_select_sql(alias)} WHERE {match} LIMIT 1),"
        f" used AS (UPDATE {table} SET {bare} = {used} + 1"
        f" FROM t WHERE {sql.column(Ticket, 'pk')} = {ticket_id}"
        f" AND {sql.column(Ticket, 'cancelled_at')} IS NULL{unused}"
        f" AND (CAST(%s AS bigint[]) IS NULL OR {event_id} = ANY(CAST(%s AS bigint[])))"
        f" AND EXISTS (SELECT 1 FROM {sql.table(Order)}"
        f" WHERE {sql.column(Order, 'pk')} = {order_id}"
        f" AND {sql.column(Order, 'status')} = %s)"
        f" RETURNING {used}),"
        f" logged AS (INSERT INTO {sql.table(ScanLog)} ({columns})"
        f" SELECT {', '.join(values)} FROM used, t)"
        f" SELECT t.*, used.{bare} FROM t LEFT JOIN used ON TRUE"
    )


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


_LOG_FIELDS = sql.concrete_fields(ScanLog)


def _insert_log(log: ScanLog) -> None:
    """Insert the log row, as log.save() would, without compiling a query.

    Each value goes through its field's get_db_prep_save(), as the ORM's own
    insert does (``db.sql.insert_params``).
    """
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(
            sql.insert_rows_sql(alias, ScanLog, 1), sql.insert_params(alias, [log])
        )
