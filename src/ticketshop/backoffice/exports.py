"""Exports: attendee lists (CSV for Excel, XLSX), bookkeeping over a date
range, and the printable door list (PDF).

Excel opens a CSV as UTF-8 only with a byte-order mark, and in a Swedish
locale splits columns on ``;``: both are written here.

Every text cell goes through ``inert`` before it is written: names, e-mail
addresses and titles come from buyers and organisers, and a spreadsheet
evaluates a cell that starts like a formula (``=HYPERLINK(...)``,
``=cmd|...``). Amounts are written as numbers, never as text, so a refund's
``-199,00`` stays a number.
"""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ticketshop.delivery.content import vat_included
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod, Ticket
from ticketshop.payments.models import (
    DoorPayment,
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

from .models import AuditEntry

BOM = "\ufeff"

# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"):
# = + - @, and a tab or carriage return before one of them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """Return a text cell that no spreadsheet evaluates; other values as they are.

    Text that starts like a formula, also after leading whitespace, gets a
    leading apostrophe (OWASP's advice), so ``=1+2`` shows as ``'=1+2``.
    Numbers (Decimal, int, float) are not text and are returned unchanged.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def attendee_rows(event: ChapterEvent) -> tuple[list[str], list[list]]:
    """Every ticket that opens the door, sorted by name, then e-mail."""
    header = [
        _("Name"),
        _("E-mail"),
        _("Ticket id"),
        _("Ticket type"),
        _("Price (SEK)"),
        _("Order"),
        _("Payment method"),
        _("Paid at"),
        _("Admitted"),
        _("To pay at the door (SEK)"),
    ]
    tickets = (
        Ticket.objects.filter(
            event=event, order__status=OrderStatus.PAID, cancelled_at__isnull=True
        )
        .select_related("order", "ticket_type")
        .order_by("order__name", "order__email", "external_id")
    )
    rows = [
        [
            t.order.name,
            t.order.email,
            t.external_id,
            t.ticket_type.title,
            t.price,
            t.order.reference,
            t.order.get_payment_method_display(),
            _local(t.order.paid_at),
            t.times_used,
            t.order.due_at_door,
        ]
        for t in tickets
    ]
    rows.sort(key=lambda r: ((r[0] or r[1]).casefold(), r[2]))
    _due_once_per_order(rows)
    return header, rows


def _due_once_per_order(rows: list[list]) -> None:
    """Leave what an order owes at the door on its first row only: two
    tickets of an order owing 100 kr owe 100 kr, not 200."""
    seen: set[str] = set()
    for row in rows:
        if row[5] in seen:
            row[9] = ""
        seen.add(row[5])


def to_csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([inert(v) for v in header])
    for row in rows:
        writer.writerow(
            [
                str(v).replace(".", ",") if isinstance(v, Decimal) else inert(v)
                for v in row
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")


def _xlsx_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        # XML cannot carry most control characters; openpyxl refuses them.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", inert(value))
    return value


def to_xlsx(header: list[str], rows: list[list], *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    # A sheet's name may not hold []:*?/\ (an event called "A/B" otherwise
    # stops the export).
    sheet.title = INVALID_TITLE_REGEX.sub("-", title)[:31] or "Sheet"
    for values in [header, *rows]:
        sheet.append([_xlsx_value(v) for v in values])
    # openpyxl stores any text starting with "=" as a formula; text stays text.
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bookkeeping_rows(start: date, end: date) -> tuple[list[str], list[list]]:
    """Payments received and refunds paid back between the two dates
    (inclusive, local time): one row each, with VAT."""
    rate = Decimal(settings.DELIVERY_VAT_RATE)
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    header = [
        _("Date"),
        _("Kind"),
        _("Order"),
        _("Reference"),
        _("Event"),
        _("Method"),
        _("Amount (SEK)"),
        _("VAT (SEK)"),
        _("Net (SEK)"),
    ]
    rows = []

    events_then = _EventsThen()

    def row(at, kind, order, reference, method, amount, *, event_title=None):
        vat = vat_included(abs(amount), rate=rate) * (1 if amount >= 0 else -1)
        return [
            _local(at),
            kind,
            order.reference,
            reference,
            event_title or events_then.title(order, at),
            method,
            amount,
            vat,
            amount - vat,
        ]

    # Swish: each payment Swish paid, as Swish paid it.
    for payment in SwishPayment.objects.filter(
        status=SwishStatus.PAID, date_paid__gte=since, date_paid__lt=until
    ).select_related("order__event"):
        rows.append(
            row(
                payment.date_paid,
                _("payment"),
                payment.order,
                payment.payment_reference,
                "Swish",
                payment.amount,
            )
        )
    # Cash and invoice orders an organiser issued: their recorded total.
    for order in Order.objects.filter(
        paid_at__gte=since,
        paid_at__lt=until,
        payment_method__in=[PaymentMethod.CASH, PaymentMethod.INVOICE],
    ).select_related("event"):
        rows.append(
            row(
                order.paid_at,
                _("payment"),
                order,
                "",
                order.get_payment_method_display(),
                order.total_price,
            )
        )
    refunds = (
        SwishRefund.objects.filter(
            status=RefundStatus.PAID, updated_at__gte=since, updated_at__lt=until
        )
        .select_related("payment__order__event")
        .order_by("updated_at")
    )
    for refund in refunds:
        rows.append(
            row(
                refund.updated_at,
                _("refund"),
                refund.payment.order,
                refund.refund_id,
                "Swish",
                -refund.amount,
                # Paid back from what was taken for the payment's event.
                event_title=events_then.title(
                    refund.payment.order, refund.payment.date_paid
                ),
            )
        )
    # Money that was due at the door, as it was collected there.
    for payment in DoorPayment.objects.filter(
        recorded_at__gte=since, recorded_at__lt=until
    ).select_related("order", "event"):
        rows.append(
            row(
                payment.recorded_at,
                _("payment at the door"),
                payment.order,
                "",
                payment.get_method_display(),
                payment.amount,
                event_title=payment.event.title,
            )
        )
    rows.sort(key=lambda r: r[0])
    return header, rows


def _kronor(amount: Decimal) -> str:
    """Kronor as the reader's language writes them: 100, 99,50 or 99.50."""
    places = 0 if amount == amount.to_integral_value() else 2
    return formats.number_format(amount, decimal_pos=places, use_l10n=True)


class _EventsThen:
    """The event an order was for at a moment, from its audit log: an
    exchange moves the order to another event, but money taken before it
    was taken for the event of then (the ``before`` of the first exchange
    after that moment)."""

    def __init__(self) -> None:
        self._exchanges: dict[int, list[tuple[datetime, int]]] = {}
        self._titles: dict[int, str] = {}

    def _load(self, order: Order) -> list[tuple[datetime, int]]:
        if order.pk not in self._exchanges:
            self._exchanges[order.pk] = [
                (at, before.get("event"))
                for at, before in AuditEntry.objects.filter(
                    order_id=order.pk, action="exchange"
                )
                .order_by("at", "pk")
                .values_list("at", "before")
                if isinstance(before, dict) and before.get("event")
            ]
        return self._exchanges[order.pk]

    def title(self, order: Order, at: datetime | None) -> str:
        event_id = order.event_id
        if at is not None:
            for exchanged_at, before_event in self._load(order):
                if exchanged_at > at:
                    event_id = before_event
                    break
        if event_id == order.event_id:
            return order.event.title
        if event_id not in self._titles:
            self._titles[event_id] = (
                ChapterEvent.objects.filter(pk=event_id)
                .values_list("title", flat=True)
                .first()
                or order.event.title
            )
        return self._titles[event_id]


def door_list_pdf(event: ChapterEvent) -> bytes:
    """A printable list of the event's valid tickets, sorted by name, for
    checking guests in by hand when the network fails."""
    header, rows = attendee_rows(event)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    # Words outside the f-strings: xgettext does not look inside one.
    title = _("%(event)s – door list") % {"event": event.title}
    pdf.setTitle(title)
    width, height = A4
    y = height - 20 * mm

    def heading() -> float:
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(15 * mm, height - 15 * mm, title)
        pdf.setFont("Helvetica", 9)
        pdf.drawString(
            15 * mm,
            height - 20 * mm,
            f"{_local(event.event_at)} · "
            + ngettext("%(n)d ticket", "%(n)d tickets", len(rows)) % {"n": len(rows)},
        )
        pdf.setFont("Helvetica-Bold", 9)
        top = height - 28 * mm
        for x, text in (
            (15, _("Name")),
            (80, _("Ticket id")),
            (100, _("Ticket type")),
            (150, _("Order")),
            (180, _("In")),
        ):
            pdf.drawString(x * mm, top, text)
        pdf.setFont("Helvetica", 9)
        return top - 6 * mm

    y = heading()
    for row in rows:
        if y < 15 * mm:
            pdf.showPage()
            y = heading()
        name = (row[0] or row[1])[:40]
        if row[9]:
            name = _("%(name)s (to pay %(amount)s kr)") % {
                "name": name[:24],
                "amount": _kronor(row[9]),
            }
        pdf.drawString(15 * mm, y, name)
        pdf.setFont("Courier-Bold", 10)
        pdf.drawString(80 * mm, y, row[2])
        pdf.setFont("Helvetica", 9)
        pdf.drawString(100 * mm, y, str(row[3])[:28])
        pdf.drawString(150 * mm, y, row[5])
        pdf.rect(180 * mm, y - 1 * mm, 4 * mm, 4 * mm)
        y -= 6 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()
