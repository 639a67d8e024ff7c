"""Receipts: the next number of the organiser's series, a receipt for a
paid order and a credit receipt for what a cancellation undoes.

Both run inside the transaction that changes the order (``receivers``):
the number is taken there, so a rolled-back payment takes its number back
with it and no number is ever skipped; the counter row's lock (PostgreSQL:
the UPDATE's row lock, held to the commit; SQLite: the write lock every
durable transaction takes at BEGIN IMMEDIATE) makes concurrent payers take
turns, so no number is ever given twice. The unique constraint on
(organiser, year, number) is the last guard.
"""

import logging
import re
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.events.models import TicketType
from ticketshop.orders.models import Order, Ticket

from .identity import luhn_ok
from .models import (
    Organiser,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptSeries,
    VatStatus,
)
from .vat import split_price, vat_included

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


def current_organiser() -> Organiser:
    """The installation's organiser (the first row), made from the
    DELIVERY_* settings the first time it is asked for."""
    organiser = _first_organiser()
    if organiser is not None:
        return organiser
    # Two first payments at once: one insert wins, the other does nothing.
    Organiser.objects.bulk_create([_from_settings()], ignore_conflicts=True)
    return _first_organiser()


def _first_organiser() -> Organiser | None:
    """The organiser of the lowest id. Every payment's receipt asks it: one
    statement written once per process, not the ORM's compiled each time."""
    alias = connection.alias
    return sql.fetch_instance(alias, Organiser, _first_organiser_sql(alias))


@cache
def _first_organiser_sql(alias: str) -> str:
    # Only quoted names from the models go into the text.
    return (
        f"SELECT {sql.select_columns(alias, Organiser, 'g')}"  # noqa: S608
        f" FROM {sql.table(Organiser, 'g', using=alias)}"
        f" ORDER BY {sql.column(Organiser, 'pk', 'g', using=alias)} LIMIT 1"
    )


def _live_tickets(order_id: int) -> list[Ticket]:
    """The order's live tickets with their ticket types, by id (a paying
    order's receipt lines): one statement written once per process."""
    alias = connection.alias
    with sql.prepared_cursor(alias) as cursor:
        cursor.execute(_live_tickets_sql(alias), [order_id])
        rows = cursor.fetchall()
    tickets = []
    for row in rows:
        ticket, ticket_type = sql.read_models(alias, row, Ticket, TicketType)
        ticket.ticket_type = ticket_type
        tickets.append(ticket)
    return tickets


@cache
def _live_tickets_sql(alias: str) -> str:
    """An order's uncancelled tickets (``t``) with their types (``y``);
    parameter: the order's id."""
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, Ticket, 't')},"  # noqa: S608
        f" {sql.select_columns(alias, TicketType, 'y')}"
        f" FROM {sql.table(Ticket, 't', using=alias)}"
        f" JOIN {sql.table(TicketType, 'y', using=alias)}"
        f" ON {sql.column(TicketType, 'pk', 'y', using=alias)}"
        f" = {sql.column(Ticket, 'ticket_type', 't', using=alias)}"
        f" WHERE {sql.column(Ticket, 'order', 't', using=alias)} = %s"
        f" AND {sql.column(Ticket, 'cancelled_at', 't', using=alias)} IS NULL"
        f" ORDER BY {sql.column(Ticket, 'pk', 't', using=alias)}"
    )


def _from_settings() -> Organiser:
    """The first settings, from DELIVERY_*: a real VAT number there (SE,
    ten digits passing the Luhn check, 01; not the demo's zeros) makes the
    seller registered for VAT with that number, as the ticket e-mail says;
    anything else starts as not liable for VAT."""
    organiser = Organiser(
        key="default",
        legal_name=settings.DELIVERY_ORGANISER_NAME,
        address=settings.DELIVERY_ORGANISER_ADDRESS,
    )
    vat = (settings.DELIVERY_VAT_NUMBER or "").replace(" ", "").upper()
    digits = vat[2:12]
    if re.fullmatch(r"SE\d{10}01", vat) and digits != "0" * 10 and luhn_ok(digits):
        organiser.vat_status = VatStatus.REGISTERED
        organiser.vat_number = vat
        organiser.org_number = f"{digits[:6]}-{digits[6:]}"
    return organiser


def next_number(organiser: Organiser, *, year: int) -> int:
    """Take the next number of the organiser's series for ``year``, in the
    caller's transaction (the counter row stays locked until it ends)."""
    if not connection.in_atomic_block:
        raise RuntimeError("receipt numbers are taken inside a transaction")
    # One statement: insert the year's row at 1, or add 1 to it. Its row
    # lock (PostgreSQL) is held to the commit: a concurrent payer waits here
    # and then adds one to the number this transaction committed.
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(
            sql.increment_sql(
                alias, ReceiptSeries, ("organiser", "year"), "last_number"
            ),
            [organiser.pk, year],
        )
        (number,) = cursor.fetchone()
    return number


def receipt_code(organiser: Organiser, *, year: int, number: int) -> str:
    return f"{organiser.receipt_prefix}{year}-{number:05d}"


def receipt_year(now: datetime) -> int:
    return timezone.localtime(now).year


def _lines_for(tickets, *, language: str, charges_vat: bool) -> list[ReceiptLine]:
    """One line per ticket type, price and VAT rate, ``count`` tickets each,
    its VAT computed on the line (the rule in ``vat``)."""
    groups: OrderedDict[tuple, list] = OrderedDict()
    for ticket in tickets:
        groups.setdefault((ticket.ticket_type_id, ticket.price), []).append(ticket)
    lines = []
    for (type_id, price), group in groups.items():
        ticket_type = group[0].ticket_type
        parts = split_price(
            price,
            rate=ticket_type.vat_rate,
            part_rate=ticket_type.vat_part_rate,
            part_amount=ticket_type.vat_part_amount,
        )
        title = ticket_type.title_in(language)
        for rate, part in parts:
            rate = rate if charges_vat else 0
            amount = part * len(group)
            lines.append(
                ReceiptLine(
                    ticket_type_id=type_id,
                    description=title,
                    unit_price=price,
                    part_of_price=part,
                    rate=rate,
                    count=len(group),
                    amount=amount,
                    vat=vat_included(amount, rate=rate),
                )
            )
    return lines


def vat_lines(tickets, *, language: str, organiser: Organiser) -> list[ReceiptLine]:
    """The receipt's lines (unsaved) for ``tickets`` under the organiser's
    VAT status: what the ticket e-mail shows, so that it says what the
    receipt says."""
    return _lines_for(tickets, language=language, charges_vat=organiser.charges_vat)


def _new_receipt(
    *,
    organiser: Organiser,
    order: Order,
    kind: str,
    lines: list[ReceiptLine],
    now: datetime,
    original: Receipt | None = None,
    payment_method: str | None = None,
) -> Receipt:
    year = receipt_year(now)
    number = next_number(organiser, year=year)
    source = original
    event = order.event
    language = order.language or settings.DELIVERY_LANGUAGE
    receipt = Receipt.objects.create(
        organiser=organiser,
        kind=kind,
        year=year,
        number=number,
        code=receipt_code(organiser, year=year, number=number),
        order=order,
        original=original,
        issued_at=now,
        language=language,
        seller_name=source.seller_name if source else organiser.legal_name,
        seller_org_number=source.seller_org_number if source else organiser.org_number,
        seller_address=source.seller_address if source else organiser.address,
        seller_vat_number=(
            source.seller_vat_number
            if source
            else (organiser.vat_number if organiser.charges_vat else "")
        ),
        vat_status=source.vat_status if source else organiser.vat_status,
        event_title=event.title_in(language),
        event_at=event.event_at,
        # Money collected apart from the order's payment (at the door) is
        # paid with its own method and carries no Swish reference.
        payment_method=payment_method or order.payment_method,
        payment_reference="" if payment_method else order.payment_reference or "",
        total=sum((line.amount for line in lines), ZERO),
        vat_total=sum((line.vat for line in lines), ZERO),
    )
    for line in lines:
        line.receipt = receipt
    ReceiptLine.objects.bulk_create(lines)
    logger.info("order %s: %s %s", order.reference, kind.lower(), receipt.code)
    return receipt


def issue_receipt(*, order: Order, now: datetime) -> Receipt | None:
    """The receipt of an order that has just become paid (caller's
    transaction). None for an order of 0 kr (free or complimentary)."""
    if order.total_price <= 0:
        return None
    organiser = current_organiser()
    language = order.language or settings.DELIVERY_LANGUAGE
    tickets = _live_tickets(order.pk)
    lines = _lines_for(tickets, language=language, charges_vat=organiser.charges_vat)
    if not lines or sum((line.amount for line in lines), ZERO) <= 0:
        return None
    return _new_receipt(
        organiser=organiser,
        order=order,
        kind=ReceiptKind.SALE,
        lines=lines,
        now=now,
    )


def _net(order: Order) -> dict[tuple, dict]:
    """What the order's receipts hold per (type, price, rate, part): the
    net count and amount, and the latest sale receipt's line data."""
    net: dict[tuple, dict] = {}
    for line in (
        ReceiptLine.objects.filter(receipt__order=order)
        .select_related("receipt")
        .order_by("pk")
    ):
        key = (line.ticket_type_id, line.unit_price, line.rate, line.part_of_price)
        entry = net.setdefault(
            key, {"count": 0, "amount": ZERO, "description": line.description}
        )
        # A credit receipt's lines take tickets back, but an exchange's
        # credit receipt also holds the new tickets, on lines of a positive
        # amount (``issue_exchange_credit_receipt``).
        credit = line.receipt.kind == ReceiptKind.CREDIT and line.amount <= 0
        sign = -1 if credit else 1
        entry["count"] += sign * line.count
        entry["amount"] += line.amount
    return net


def issue_credit_receipt(*, order: Order, ticket_ids, now: datetime) -> Receipt | None:
    """The credit receipt of tickets whose sale a cancellation undoes
    (caller's transaction), naming the order's latest receipt. None when
    those tickets were never on a receipt (free, complimentary).

    Its VAT per line is the VAT of what the line held before less the VAT
    of what it holds after, so the credits of an order, however many,
    reverse its receipts' VAT to the öre (never rounded twice)."""
    original = (
        Receipt.objects.filter(order=order, kind=ReceiptKind.SALE)
        .order_by("-issued_at", "-pk")
        .first()
    )
    if original is None:
        return None
    net = _net(order)
    tickets = list(Ticket.objects.filter(pk__in=list(ticket_ids)).order_by("pk"))
    by_type: OrderedDict[tuple, int] = OrderedDict()
    for ticket in tickets:
        key = (ticket.ticket_type_id, ticket.price)
        by_type[key] = by_type.get(key, 0) + 1
    lines = []
    for (type_id, price), count in by_type.items():
        for key, entry in net.items():
            if key[0] != type_id or key[1] != price or entry["count"] <= 0:
                continue
            credited = min(count, entry["count"])
            rate, part = key[2], key[3]
            before = entry["amount"]
            after = part * (entry["count"] - credited)
            vat = vat_included(before, rate=rate) - vat_included(after, rate=rate)
            lines.append(
                ReceiptLine(
                    ticket_type_id=type_id,
                    description=entry["description"],
                    unit_price=price,
                    part_of_price=part,
                    rate=rate,
                    count=credited,
                    amount=after - before,
                    vat=-vat,
                )
            )
    if not lines or sum((line.amount for line in lines), ZERO) == 0:
        return None
    organiser = original.organiser
    return _new_receipt(
        organiser=organiser,
        order=order,
        kind=ReceiptKind.CREDIT,
        lines=lines,
        now=now,
        original=original,
    )


def _latest_sale(order: Order) -> Receipt | None:
    return (
        Receipt.objects.filter(order=order, kind=ReceiptKind.SALE)
        .order_by("-issued_at", "-pk")
        .first()
    )


def _exchange_lines(order: Order, original: Receipt) -> list[ReceiptLine]:
    """What the order's receipts must add to hold its live tickets after an
    exchange, per type, price and rate: lines of a negative amount take back
    what they held and no live ticket holds any more, lines of a positive
    amount add the new tickets. VAT per line is the VAT of what the line
    holds after less the VAT of what it held before (never rounded twice)."""
    net = _net(order)
    live = (
        order.tickets.filter(cancelled_at__isnull=True)
        .select_related("ticket_type")
        .order_by("pk")
    )
    wanted = {
        (line.ticket_type_id, line.unit_price, line.rate, line.part_of_price): line
        for line in _lines_for(
            live,
            language=original.language,
            charges_vat=original.vat_status == VatStatus.REGISTERED,
        )
    }
    lines = []
    for key in [*net, *(k for k in wanted if k not in net)]:
        entry = net.get(key, {"count": 0, "amount": ZERO, "description": ""})
        target = wanted.get(key)
        count = target.count if target else 0
        have = max(entry["count"], 0)
        if count == have:
            continue
        rate, part = key[2], key[3]
        before = entry["amount"] if have else ZERO
        after = part * count
        if after == before:
            continue
        lines.append(
            ReceiptLine(
                ticket_type_id=key[0],
                description=target.description if target else entry["description"],
                unit_price=key[1],
                part_of_price=part,
                rate=rate,
                count=abs(count - have),
                amount=after - before,
                vat=vat_included(after, rate=rate) - vat_included(before, rate=rate),
            )
        )
    return lines


def _exchange_difference(
    order: Order,
) -> tuple[Receipt | None, list[ReceiptLine], Decimal]:
    """(the order's latest sale receipt, the exchange's lines against it,
    their total): the total is 0 when the order has no receipt or its
    receipts already hold its tickets; below 0 for a cheaper exchange."""
    original = _latest_sale(order)
    if original is None:
        return None, [], ZERO
    lines = _exchange_lines(order, original)
    return original, lines, sum((line.amount for line in lines), ZERO)


def issue_exchange_credit_receipt(*, order: Order, now: datetime) -> Receipt | None:
    """The credit receipt of an exchange to cheaper tickets (caller's
    transaction, the exchange's), naming the order's latest receipt, as a
    partial refund's does; its lines are ``_exchange_lines`` and its total
    the difference paid back.

    None when the order has no receipt (free, complimentary) or when the
    exchange is not cheaper than what the receipts hold: a dearer
    exchange's receipt is issued when its difference is collected
    (``issue_exchange_receipt``)."""
    original, lines, total = _exchange_difference(order)
    if total >= 0:
        return None
    return _new_receipt(
        organiser=original.organiser,
        order=order,
        kind=ReceiptKind.CREDIT,
        lines=lines,
        now=now,
        original=original,
    )


def issue_exchange_receipt(
    *, order: Order, amount: Decimal, method: str, now: datetime
) -> Receipt | None:
    """The receipt of a dearer exchange's difference, when it is collected
    (at the door: caller's transaction, the one that records the money):
    a sale receipt in the series naming the order's receipt, paid with
    ``method``, its lines ``_exchange_lines`` and its total the difference.

    None when the order has no receipt, when its receipts already hold its
    tickets, or when ``amount`` is not the whole difference (a collection
    in parts gets no receipt: docs/books.md, "Not yet")."""
    original, lines, total = _exchange_difference(order)
    if total <= 0:
        return None
    if total != amount:
        logger.warning(
            "order %s: %s kr collected of a %s kr exchange difference: no receipt",
            order.reference,
            amount,
            total,
        )
        return None
    return _new_receipt(
        organiser=original.organiser,
        order=order,
        kind=ReceiptKind.SALE,
        lines=lines,
        now=now,
        original=original,
        payment_method=method,
    )
