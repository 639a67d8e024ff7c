"""Exports: attendee lists (CSV for Excel, XLSX), bookkeeping over a date
range, and the printable door list (PDF).

Excel opens a CSV as UTF-8 only with a byte-order mark, and in a Swedish
locale splits columns on ``;``: both are written here.
"""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ticketshop.delivery.content import vat_included
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod, Ticket
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

BOM = "\ufeff"


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
    return header, rows


def to_csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [str(v).replace(".", ",") if isinstance(v, Decimal) else v for v in row]
        )
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list], *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "Sheet"
    sheet.append(header)
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
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

    def row(at, kind, order, reference, method, amount):
        vat = vat_included(abs(amount), rate=rate) * (1 if amount >= 0 else -1)
        return [
            _local(at),
            kind,
            order.reference,
            reference,
            order.event.title,
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
            )
        )
    rows.sort(key=lambda r: r[0])
    return header, rows


def door_list_pdf(event: ChapterEvent) -> bytes:
    """A printable list of the event's valid tickets, sorted by name, for
    checking guests in by hand when the network fails."""
    header, rows = attendee_rows(event)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    # Words outside the f-strings: xgettext does not look inside one.
    title = _("%(event)s – door list") % {"event": event.title}
    pay = _("pay %(amount)s kr")
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
            amount = number_format(row[9], decimal_pos=2)
            name = f"{name[:28]} ({pay % {'amount': amount}})"
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
