"""The order lifecycle's hand-written SQL: every statement ``lifecycle`` runs
on a plain cursor, built once per process and database alias.

``lifecycle`` reads as its transitions; what it sends to the database is
built here, from the models' metadata with ``db.sql``'s helpers (``table``,
``column``: a field's name in, its quoted column out), never a column name
written as text. Values always go in as parameters; the functions named
``…_params`` prepare them in the order their statement expects.

Each statement that changes an order's state also writes its history row
(``statemachine.models.StateChange``) in the same statement, so the order's
machine keeps its rule: one history row per transition, in the same
transaction, without a round trip more.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from django.db import connection, connections
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.events.models import ChapterEvent
from ticketshop.statemachine.machine import current_actor
from ticketshop.statemachine.models import StateChange

from .models import Order, Ticket
from .seatlock import take_seats_sql
from .seats import seat_holding_condition, seats_left_sql


def _names(model, fields: Iterable) -> str:
    """The fields' quoted columns, unqualified, comma-separated."""
    return ", ".join(sql.column(model, f.name, "") for f in fields)


def _casts(alias: str, fields: Iterable) -> list[str]:
    """One ``CAST(%s AS type)`` per field (a typed parameter in a SELECT)."""
    db = connections[alias]
    return [f"CAST(%s AS {f.cast_db_type(db)})" for f in fields]


# --- The sweep of lapsed holds ------------------------------------------------


def expire_params(
    alias: str, *, event_id: int, now: datetime, expired: str, reserved: str
) -> list:
    return [
        sql.value(alias, Order, "status", expired),
        sql.value(alias, Order, "updated_at", now),
        event_id,
        sql.value(alias, Order, "status", reserved),
        sql.value(alias, Order, "payment_pending", False),
        sql.value(alias, Order, "expires_at", now),
    ]


@cache
def expire_sql(alias: str) -> str:
    """Set the event's lapsed holds (reserved, no payment running, expired
    at or before now) to the expired status; return their ids (for their
    history rows). Reads the partial index of orders that may hold seats
    (``seats.seat_holding_condition``). Parameters: ``expire_params``."""

    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(Order)}"  # noqa: S608
        f" SET {sql.column(Order, 'status', '')} = %s,"
        f" {sql.column(Order, 'updated_at', '')} = %s"
        f" WHERE {sql.column(Order, 'event')} = %s"
        f" AND {seat_holding_condition(alias)}"
        f" AND {sql.column(Order, 'status')} = %s"
        f" AND {sql.column(Order, 'payment_pending')} = %s"
        f" AND {sql.column(Order, 'expires_at')} <= %s"
        f" RETURNING {sql.column(Order, 'pk', '')}"
    )


def analyze_orders_sql(alias: str) -> str:
    return f"ANALYZE {sql.table(Order)}"


# --- A new order's history row, in the statement that inserts it ---------------

# The history row's columns but its record, which the statement fills in.
_HISTORY_VALUE_FIELDS = [
    f for f in sql.concrete_fields(StateChange) if f.name != "record_id"
]


def history_params(
    alias: str,
    *,
    machine: str,
    transition: str,
    to_state: str,
) -> list:
    """The values of ``history_of_new_order_sql``: the order's machine, the
    transition that created it, its state, the actor (``acting_as``), now."""
    values = {
        "machine": machine,
        "transition": transition,
        "from_state": "",
        "to_state": to_state,
        "actor": current_actor(),
        "at": timezone.now(),
    }
    db = connections[alias]
    return [f.get_db_prep_save(values[f.name], db) for f in _HISTORY_VALUE_FIELDS]


@cache
def history_of_new_order_sql(alias: str) -> str:
    """PostgreSQL: the INSERT of the history row of the order that the WITH
    query ``new_order`` inserted and returned the id of. Parameters:
    ``history_params``."""
    fields = sql.concrete_fields(StateChange)
    casts = iter(_casts(alias, _HISTORY_VALUE_FIELDS))
    selected = ", ".join(
        sql.column(Order, "pk", "new_order") if f.name == "record_id" else next(casts)
        for f in fields
    )
    # Only quoted names from the models go into the text; values are params.
    columns = _names(StateChange, fields)
    return (
        f"INSERT INTO {sql.table(StateChange)} ({columns})"  # noqa: S608
        f" SELECT {selected} FROM new_order"
    )


# --- Inserting an order and its tickets -----------------------------------------

# The tickets' columns but their order, which the statement fills in.
TICKET_VALUE_FIELDS = [f for f in sql.concrete_fields(Ticket) if f.name != "order"]


def ticket_params(tickets: list[Ticket]) -> list:
    """The values of ``tickets_of_new_order_sql``, ticket by ticket."""
    return [
        field.get_db_prep_save(getattr(ticket, field.attname), connection)
        for ticket in tickets
        for field in TICKET_VALUE_FIELDS
    ]


@cache
def insert_order_and_tickets_sql(alias: str, n_tickets: int) -> str:
    """PostgreSQL: insert the order, its history row and, from its new id,
    its tickets; return the order's id (a data-modifying WITH). Parameters:
    the order's (``sql.insert_params``), ``history_params``,
    ``ticket_params``."""
    return (
        f"WITH new_order AS ({sql.insert_rows_sql(alias, Order, 1)}),"
        f" history AS ({history_of_new_order_sql(alias)})"
        f" {tickets_of_new_order_sql(alias, n_tickets)}"
        f" RETURNING {sql.column(Ticket, 'order', '')}"
    )


@cache
def tickets_of_new_order_sql(alias: str, n_tickets: int) -> str:
    """PostgreSQL: the INSERT of ``n_tickets`` tickets (their values as
    parameters, ``ticket_params``) of the order that the WITH query
    ``new_order`` inserted and returned the id of."""
    row = ", ".join(_casts(alias, TICKET_VALUE_FIELDS))
    ticket_fields = sql.concrete_fields(Ticket)
    selected = ", ".join(
        sql.column(Order, "pk", "new_order")
        if f.name == "order"
        else sql.column(Ticket, f.name, "v")
        for f in ticket_fields
    )
    # Only quoted names from the models go into the text; values are params.
    columns = _names(Ticket, ticket_fields)
    return (
        f"INSERT INTO {sql.table(Ticket)} ({columns})"  # noqa: S608
        f" SELECT {selected} FROM new_order,"
        f" (VALUES {', '.join([f'({row})'] * n_tickets)})"
        f" AS v ({_names(Ticket, TICKET_VALUE_FIELDS)})"
    )


# --- PostgreSQL's reservation through the event's seat counter ----------------------


@cache
def reserve_by_counter_sql(alias: str, n_tickets: int) -> str:
    """PostgreSQL: add the tickets to the event's seat counter if it is known
    and they fit under the seats (sales not stopped), and insert the order,
    its history row and its tickets if so; return (the new order's id, the
    event's hold minutes, the transaction's ``synchronous_commit``, the
    seats left), the first two NULL when nothing was written, and the last
    NULL unless so.

    Parameters: the number of tickets; the event id and now (still on
    sale); the number of tickets again; the lock timeout (those of
    ``seatlock.take_seats_sql``); the order's values (as
    ``sql.insert_params``; its expires_at is now, to which the event's hold
    time is added here); the history row's
    (``history_params``); the tickets' values; the transaction's
    ``synchronous_commit`` ("off": the commit does not wait for the disk,
    so neither does the next reservation of the event); the seats left's
    (``seats.seats_left_params``).

    The seats left are counted only when the counter refused: an
    uncorrelated scalar subquery is run on its first use, which the CASE
    makes only then. Its snapshot is the statement's, taken before any
    wait for the counter's row, so it never counts more than the seats
    taken then: a refusal from it holds; what it lets through goes to the
    seat lock, which counts again."""
    order_fields = sql.concrete_fields(Order)
    hold = sql.column(ChapterEvent, "reservation_minutes", "")
    casts = _casts(alias, order_fields)
    order_values = ", ".join(
        f"{cast} + ev.{hold} * INTERVAL '1 minute'"
        if field.name == "expires_at"
        else cast
        for field, cast in zip(order_fields, casts, strict=True)
    )
    order_pk = sql.column(Order, "pk", "")
    # Only quoted names from the models go into the text; values are params.
    return (
        f"WITH ev AS ({take_seats_sql(alias)}),"  # noqa: S608
        f" new_order AS (INSERT INTO {sql.table(Order)}"
        f" ({_names(Order, order_fields)})"
        f" SELECT {order_values} FROM ev RETURNING {order_pk}),"
        f" history AS ({history_of_new_order_sql(alias)}),"
        f" new_tickets AS ({tickets_of_new_order_sql(alias, n_tickets)})"
        f" SELECT (SELECT {order_pk} FROM new_order), (SELECT {hold} FROM ev),"
        " set_config('synchronous_commit', %s, true),"
        f" CASE WHEN (SELECT {hold} FROM ev) IS NULL"
        f" THEN {seats_left_sql(alias)} END"
    )
