"""Reads for scanning: the ticket behind a scanned id, accounts, check-in counts."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ticketshop.events.models import ChapterEvent, TicketType
from ticketshop.orders.models import Order, OrderStatus, Ticket

from .models import ScannerAccount


def normalise_external_id(external_id: str) -> str:
    """Return the id as stored: without surrounding spaces, in upper case."""
    return external_id.strip().upper()


# The two reads below run on every scan. They are written in SQL, built once
# from the models' metadata, because compiling the equivalent ORM queries
# costs several times more than running them (see bench/README.md).


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _db_datetime(value) -> datetime | None:
    """Return an aware datetime from a raw row (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


@lru_cache(maxsize=4)
def _ticket_sql(vendor: str) -> str:
    t, o, e, y = Ticket, Order, ChapterEvent, TicketType
    # Only quoted names from the models go into the text; values are params.
    return (
        "SELECT "  # noqa: S608
        + ", ".join(
            [
                f"t.{_column(t, 'id')}",
                f"t.{_column(t, 'external_id')}",
                f"t.{_column(t, 'times_used')}",
                f"t.{_column(t, 'event')}",
                f"t.{_column(t, 'order')}",
                f"t.{_column(t, 'ticket_type')}",
                f"o.{_column(o, 'status')}",
                f"o.{_column(o, 'payment_pending')}",
                f"o.{_column(o, 'expires_at')}",
                f"e.{_column(e, 'title')}",
                f"e.{_column(e, 'event_at')}",
                f"y.{_column(y, 'title')}",
            ]
        )
        + f" FROM {_table(t)} t"
        + f" JOIN {_table(o)} o ON o.{_column(o, 'id')} = t.{_column(t, 'order')}"
        + f" JOIN {_table(e)} e ON e.{_column(e, 'id')} = t.{_column(t, 'event')}"
        + f" JOIN {_table(y)} y ON y.{_column(y, 'id')}"
        + f" = t.{_column(t, 'ticket_type')}"
        + " WHERE {match} LIMIT 1"
    )


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
    event_title: str
    event_at: datetime
    ticket_type_title: str


def get_ticket_for_scan(*, external_id: str) -> ScannedTicket | None:
    """Return the ticket with this id (any case), or None."""
    key = normalise_external_id(external_id)
    if not key:
        return None
    sql = _ticket_sql(connection.vendor)
    column = f"t.{_column(Ticket, 'external_id')}"
    row = None
    with connection.cursor() as cursor:
        # Ids are issued in upper case, so the exact match on the unique
        # index finds them; UPPER() (no index) covers ids entered by hand in
        # another case.
        for match in (f"{column} = %s", f"UPPER({column}) = %s"):
            cursor.execute(sql.format(match=match), [key])
            row = cursor.fetchone()
            if row is not None:
                break
    if row is None:
        return None
    (pk, ext_id, times_used, event_id, order_id, _type_id) = row[:6]
    (status, payment_pending, expires_at, event_title, event_at, type_title) = row[6:]
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
        event_title=event_title,
        event_at=_db_datetime(event_at),
        ticket_type_title=type_title,
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


@lru_cache(maxsize=4)
def _accounts_sql(vendor: str) -> str:
    a = ScannerAccount
    through = ScannerAccount.events.through
    return (
        f"SELECT a.{_column(a, 'id')}, a.{_column(a, 'name')},"  # noqa: S608
        f" a.{_column(a, 'password')}, a.{_column(a, 'updated_at')},"
        f" l.{_column(through, 'chapterevent')}"
        f" FROM {_table(a)} a LEFT JOIN {_table(through)} l"
        f" ON l.{_column(through, 'scanneraccount')} = a.{_column(a, 'id')}"
        f" WHERE a.{_column(a, 'is_active')} = %s ORDER BY a.{_column(a, 'id')}"
    )


def list_active_scanner_accounts() -> list[ActiveScannerAccount]:
    """Return the active accounts with the events each is limited to (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_accounts_sql(connection.vendor), [True])
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
    paid = Q(tickets__order__status=OrderStatus.PAID)
    return queryset.annotate(
        sold_count=Count("tickets", filter=paid),
        admitted_count=Count("tickets", filter=paid & Q(tickets__times_used__gt=0)),
    )
