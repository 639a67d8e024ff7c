"""Reads for scanning: the ticket behind a scanned id, accounts, check-in counts."""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.events.models import ChapterEvent, TicketType
from ticketshop.orders.models import Order, OrderStatus, Ticket

from .models import ScannerAccount


def normalise_external_id(external_id: str) -> str:
    """Return the id as stored: without surrounding spaces, in upper case."""
    return external_id.strip().upper()


# The two reads below run on every scan. They are written in SQL, built once
# from the models' metadata (ticketshop.db.sql), because compiling the
# equivalent ORM queries costs several times more than running them (see
# bench/README.md).


def _db_datetime(value) -> datetime | None:
    """Return an aware datetime from a raw row (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


@cache
def ticket_select_sql(alias: str) -> str:
    """``SELECT`` … ``FROM`` the ticket ``t`` with its order ``o``, event
    ``e`` and type ``y``: the columns ``scanned_ticket`` reads, no ``WHERE``."""
    t, o, e, y = Ticket, Order, ChapterEvent, TicketType
    others_used = (
        f"EXISTS (SELECT 1 FROM {sql.table(t, 'u')}"  # noqa: S608
        f" WHERE {sql.column(t, 'order', 'u')} = {sql.column(t, 'order', 't')}"
        f" AND {sql.column(t, 'times_used', 'u')} > 0"
        f" AND {sql.column(t, 'id', 'u')} <> {sql.column(t, 'id', 't')})"
    )
    # Only quoted names from the models go into the text; values are params.
    return (
        "SELECT "  # noqa: S608
        + ", ".join(
            [
                sql.column(t, "id", "t"),
                sql.column(t, "external_id", "t"),
                sql.column(t, "times_used", "t"),
                sql.column(t, "event", "t"),
                sql.column(t, "order", "t"),
                sql.column(t, "ticket_type", "t"),
                sql.column(t, "cancelled_at", "t"),
                sql.column(o, "status", "o"),
                sql.column(o, "payment_pending", "o"),
                sql.column(o, "expires_at", "o"),
                sql.column(e, "title", "e"),
                sql.column(e, "event_at", "e"),
                sql.column(y, "title", "y"),
                sql.column(e, "title_en", "e"),
                sql.column(y, "title_en", "y"),
                # What the door asks for (door_money): the order's reference,
                # what it still owes at the door, and whether another of its
                # tickets was used before this scan; read here so that a scan
                # needs no further round trip for them.
                sql.column(o, "reference", "o"),
                sql.column(o, "due_at_door", "o"),
                others_used,
            ]
        )
        + f" FROM {sql.table(t, 't')}"
        + f" JOIN {sql.table(o, 'o')}"
        + f" ON {sql.column(o, 'id', 'o')} = {sql.column(t, 'order', 't')}"
        + f" JOIN {sql.table(e, 'e')}"
        + f" ON {sql.column(e, 'id', 'e')} = {sql.column(t, 'event', 't')}"
        + f" JOIN {sql.table(y, 'y')}"
        + f" ON {sql.column(y, 'id', 'y')} = {sql.column(t, 'ticket_type', 't')}"
    )


# The columns of ticket_select_sql.
TICKET_WIDTH = 18


@cache
def _ticket_sql(alias: str) -> str:
    return ticket_select_sql(alias) + " WHERE {match} LIMIT 1"


@dataclass(frozen=True)
class ScannedOrder:
    """What decides a scan about the order (what effective_status reads)."""

    status: str
    payment_pending: bool
    expires_at: datetime


@dataclass(frozen=True)
class ScannedTicket:
    """A ticket as a scan sees it, with its order, event and type."""

    pk: int
    external_id: str
    times_used: int
    event_id: int
    order_id: int
    order: ScannedOrder
    # An organiser cancelled this ticket alone (or exchanged it).
    cancelled: bool
    event_title: str
    event_at: datetime
    ticket_type_title: str
    # The English titles, blank where the organiser gave none.
    event_title_en: str = ""
    ticket_type_title_en: str = ""
    # The order's reference and what it owes at the door, and whether another
    # ticket of the order was used when the ticket was read (door_money).
    order_reference: str = ""
    due_at_door: Decimal = Decimal("0")
    others_used: bool = False


def get_ticket_for_scan(*, external_id: str) -> ScannedTicket | None:
    """Return the ticket with this id (any case), or None."""
    key = normalise_external_id(external_id)
    if not key:
        return None
    statement = _ticket_sql(connection.alias)
    column = sql.column(Ticket, "external_id", "t")
    row = None
    # Prepared on PostgreSQL: planning it cost more than running it
    # (bench/README.md, "scan").
    with sql.prepared_cursor(connection.alias) as cursor:
        # Ids are issued in upper case, so the exact match on the unique
        # index finds them; UPPER() (no index) covers ids entered by hand in
        # another case.
        for match in (f"{column} = %s", f"UPPER({column}) = %s"):
            cursor.execute(statement.format(match=match), [key])
            row = cursor.fetchone()
            if row is not None:
                break
    return None if row is None else scanned_ticket(row)


def scanned_ticket(row) -> ScannedTicket:
    """Return the ticket of a row of ticket_select_sql's columns."""
    (pk, ext_id, times_used, event_id, order_id, _type_id, cancelled_at) = row[:7]
    (status, payment_pending, expires_at, event_title, event_at, type_title) = row[7:13]
    event_title_en, type_title_en, reference, due_at_door, others_used = row[13:18]
    return ScannedTicket(
        pk=pk,
        external_id=ext_id,
        times_used=times_used,
        event_id=event_id,
        order_id=order_id,
        order=ScannedOrder(
            status=status,
            payment_pending=bool(payment_pending),
            expires_at=_db_datetime(expires_at),
        ),
        cancelled=cancelled_at is not None,
        event_title=event_title,
        event_at=_db_datetime(event_at),
        ticket_type_title=type_title,
        event_title_en=event_title_en or "",
        ticket_type_title_en=type_title_en or "",
        order_reference=reference,
        # SQLite hands back the decimal column as a float or text.
        due_at_door=Decimal(str(due_at_door or 0)).quantize(Decimal("0.01")),
        others_used=bool(others_used),
    )


@dataclass(frozen=True)
class ActiveScannerAccount:
    pk: int
    name: str
    # Django's password hash of the account.
    password: str
    updated_at: datetime | None
    # Empty: every event.
    event_ids: frozenset[int]


@cache
def _accounts_sql(alias: str) -> str:
    a = ScannerAccount
    through = ScannerAccount.events.through
    return (
        f"SELECT {sql.column(a, 'id', 'a')}, {sql.column(a, 'name', 'a')},"  # noqa: S608
        f" {sql.column(a, 'password', 'a')}, {sql.column(a, 'updated_at', 'a')},"
        f" {sql.column(through, 'chapterevent', 'l')}"
        f" FROM {sql.table(a, 'a')} LEFT JOIN {sql.table(through, 'l')}"
        f" ON {sql.column(through, 'scanneraccount', 'l')} = {sql.column(a, 'id', 'a')}"
        f" WHERE {sql.column(a, 'is_active', 'a')} = %s"
        f" ORDER BY {sql.column(a, 'id', 'a')}"
    )


class _AccountsSeen:
    """This process's last read of the active accounts, for at most
    ``SCANNER_ACCOUNTS_CACHE_SECONDS``: a door scan then needs no read of
    the accounts (a round trip on PostgreSQL) when the list was read within
    that time. A change to an account made in this process forgets it at
    once (``forget``, connected to the account's save and delete signals);
    one made in another process reaches this one within those seconds.
    Never used for the slow password check itself
    (``credentials.authenticate_scanner`` reads the accounts fresh).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: tuple[float, str, list] | None = None

    def get(self, alias: str, now: float) -> list | None:
        seen = self.seen
        if seen is None or seen[0] <= now or seen[1] != alias:
            return None
        return seen[2]

    def put(self, alias: str, accounts: list, now: float) -> None:
        seconds = settings.SCANNER_ACCOUNTS_CACHE_SECONDS
        if seconds > 0:
            with self.lock:
                self.seen = (now + seconds, alias, accounts)

    def forget(self, **_signal) -> None:
        with self.lock:
            self.seen = None


accounts_seen = _AccountsSeen()


def recent_active_scanner_accounts() -> list["ActiveScannerAccount"]:
    """The active accounts as read at most SCANNER_ACCOUNTS_CACHE_SECONDS ago
    in this process (``_AccountsSeen``), or read now."""
    now = time.monotonic()
    accounts = accounts_seen.get(connection.alias, now)
    if accounts is None:
        accounts = list_active_scanner_accounts()
        accounts_seen.put(connection.alias, accounts, now)
    return accounts


def list_active_scanner_accounts() -> list[ActiveScannerAccount]:
    """Return the active accounts with the events each is limited to (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_accounts_sql(connection.alias), [True])
        rows = cursor.fetchall()
    accounts: dict[int, tuple] = {}
    events: dict[int, set[int]] = {}
    for pk, name, password, updated_at, event_id in rows:
        accounts.setdefault(pk, (name, password, _db_datetime(updated_at)))
        limited = events.setdefault(pk, set())
        if event_id is not None:
            limited.add(event_id)
    return [
        ActiveScannerAccount(
            pk=pk,
            name=name,
            password=password,
            updated_at=updated_at,
            event_ids=frozenset(events[pk]),
        )
        for pk, (name, password, updated_at) in accounts.items()
    ]


def annotate_checkins(queryset: QuerySet) -> QuerySet:
    """Annotate events with sold_count (paid tickets) and admitted_count
    (paid tickets used at least once)."""
    paid = Q(
        tickets__order__status=OrderStatus.PAID, tickets__cancelled_at__isnull=True
    )
    return queryset.annotate(
        sold_count=Count("tickets", filter=paid),
        admitted_count=Count("tickets", filter=paid & Q(tickets__times_used__gt=0)),
    )
