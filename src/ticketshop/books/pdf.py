"""The receipt as a PDF (A5, reportlab), in the receipt's language.

It holds what a simplified receipt must (docs/books.md): the date, the
receipt number, the seller (name, organisation number, and VAT number when
registered), what was sold (event, night, ticket types and counts), the
VAT per rate or the statement that no VAT is charged; a credit receipt
names the receipt it reverses.
"""

import io
from decimal import Decimal

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .models import Receipt, ReceiptKind, VatStatus

_MARGIN = 12 * mm


def kronor(amount: Decimal) -> str:
    return formats.number_format(amount, decimal_pos=2, use_l10n=True) + " kr"


def _when(value) -> str:
    local = timezone.localtime(value)
    return (
        f"{formats.date_format(local, 'DATE_FORMAT')} "
        f"{formats.time_format(local, 'TIME_FORMAT')}"
    )


def no_vat_statement(status: str) -> str:
    if status == VatStatus.EXEMPT:
        return _(
            "No VAT is charged: the seller is exempt from VAT (yearly "
            "turnover under the threshold)."
        )
    return _("No VAT is charged: the seller is not liable for VAT.")


def receipt_texts(receipt: Receipt) -> list[str]:
    """Every line of text the receipt shows, in the active language (the
    PDF draws them; tests read them back)."""
    credit = receipt.kind == ReceiptKind.CREDIT
    rows = [
        _("Credit receipt") if credit else _("Receipt"),
        _("Receipt number: %(code)s") % {"code": receipt.code},
        _("Date: %(date)s") % {"date": _when(receipt.issued_at)},
    ]
    if credit and receipt.original_id:
        rows.append(
            _("Credits receipt %(code)s of %(date)s")
            % {
                "code": receipt.original.code,
                "date": _when(receipt.original.issued_at),
            }
        )
    if not credit and receipt.original_id:
        rows.append(
            _("Difference of an exchange; the order's receipt is %(code)s of %(date)s")
            % {
                "code": receipt.original.code,
                "date": _when(receipt.original.issued_at),
            }
        )
    rows.append(_("Seller: %(name)s") % {"name": receipt.seller_name})
    if receipt.seller_org_number:
        rows.append(
            _("Organisation number: %(number)s") % {"number": receipt.seller_org_number}
        )
    if receipt.seller_address:
        rows.append(receipt.seller_address)
    if receipt.vat_charged and receipt.seller_vat_number:
        rows.append(
            _("VAT registration number: %(number)s")
            % {"number": receipt.seller_vat_number}
        )
    rows.append(
        _("Event: %(title)s, %(when)s")
        % {"title": receipt.event_title, "when": _when(receipt.event_at)}
    )
    rows.append(_("Order: %(reference)s") % {"reference": receipt.order.reference})
    for line in receipt.lines.all():
        text = _("%(count)s × %(title)s à %(price)s") % {
            "count": line.count,
            "title": line.description,
            "price": kronor(line.unit_price),
        }
        if line.part_of_price != line.unit_price:
            text += " " + _("(part %(part)s)") % {"part": kronor(line.part_of_price)}
        if receipt.vat_charged:
            text += _(", VAT %(rate)s %%") % {"rate": line.rate}
        rows.append(f"{text}: {kronor(line.amount)}")
    rows.append(_("Total: %(total)s") % {"total": kronor(receipt.total)})
    if receipt.vat_charged:
        for rate, (amount, vat) in receipt.vat_per_rate().items():
            rows.append(
                _("VAT %(rate)s %%: %(vat)s of %(amount)s")
                % {"rate": rate, "vat": kronor(vat), "amount": kronor(amount)}
            )
        rows.append(_("VAT in total: %(vat)s") % {"vat": kronor(receipt.vat_total)})
    else:
        rows.append(no_vat_statement(receipt.vat_status))
    if receipt.payment_reference:
        rows.append(
            _("Paid with %(method)s, reference %(reference)s")
            % {
                "method": receipt.get_payment_method_label(),
                "reference": receipt.payment_reference,
            }
        )
    else:
        rows.append(
            _("Paid with %(method)s") % {"method": receipt.get_payment_method_label()}
        )
    return rows


def render_receipt_pdf(receipt: Receipt, *, language: str | None = None) -> bytes:
    """The receipt as a PDF, in ``language`` (the buyer's, by default)."""
    with translation.override(language or receipt.language):
        rows = receipt_texts(receipt)
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A5, pageCompression=1)
        canvas.setTitle(f"{rows[0]} {receipt.code}")
        canvas.setAuthor(receipt.seller_name)
        width, height = A5
        y = height - _MARGIN - 14
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawString(_MARGIN, y, rows[0])
        y -= 24
        canvas.setFont("Helvetica", 9)
        for row in rows[1:]:
            for part in _wrap(canvas, row, width - 2 * _MARGIN):
                if y < _MARGIN:
                    canvas.showPage()
                    canvas.setFont("Helvetica", 9)
                    y = height - _MARGIN
                canvas.drawString(_MARGIN, y, part)
                y -= 13
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def _wrap(canvas: Canvas, text: str, width: float) -> list[str]:
    words, lines, current = text.split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and canvas.stringWidth(candidate, "Helvetica", 9) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current]


def receipt_list_rows(receipts) -> list[dict]:
    """One row per receipt for the day's list: its number, order, payment,
    amount and VAT per rate (the supporting document of the vouchers)."""
    rows = []
    for receipt in receipts:
        per_rate = receipt.vat_per_rate()
        rows.append(
            {
                "day": timezone.localdate(receipt.issued_at),
                "time": timezone.localtime(receipt.issued_at).strftime("%H:%M"),
                "code": receipt.code,
                "credit": receipt.kind == ReceiptKind.CREDIT,
                "order": receipt.order.reference,
                "method": receipt.get_payment_method_label(),
                "reference": receipt.payment_reference,
                "total": receipt.total,
                "vat": {rate: vat for rate, (_amount, vat) in per_rate.items()},
            }
        )
    return rows


_LIST_RATES = (25, 12, 6)


def render_receipt_list_pdf(receipts, *, start, end, seller: str, language: str):
    """The receipts of a date range as a list (A4 landscape), one section a
    day with its totals: receipt number, order, payment and its reference,
    amount and VAT per rate."""
    from reportlab.lib.pagesizes import A4, landscape

    with translation.override(language):
        rows = receipt_list_rows(receipts)
        buffer = io.BytesIO()
        size = landscape(A4)
        canvas = Canvas(buffer, pagesize=size, pageCompression=1)
        title = _("Receipts %(start)s – %(end)s") % {"start": start, "end": end}
        canvas.setTitle(title)
        canvas.setAuthor(seller)
        width, height = size
        columns = [
            (0, _("Time")),
            (14, _("Receipt number")),
            (50, _("Order")),
            (78, _("Payment")),
            (140, _("Amount")),
            *[
                (165 + 22 * i, _("VAT %(rate)s %%") % {"rate": rate})
                for i, rate in enumerate(_LIST_RATES)
            ],
        ]
        state = {"y": 0.0}

        def new_page():
            canvas.setFont("Helvetica-Bold", 13)
            canvas.drawString(_MARGIN, height - _MARGIN, f"{seller}: {title}")
            state["y"] = height - _MARGIN - 22

        def line(cells, bold=False):
            if state["y"] < _MARGIN:
                canvas.showPage()
                new_page()
            canvas.setFont("Helvetica-Bold" if bold else "Helvetica", 8)
            for (x, _title), text in zip(columns, cells, strict=False):
                canvas.drawString(_MARGIN + x * mm, state["y"], str(text)[:44])
            state["y"] -= 11

        def money(value):
            return formats.number_format(value, decimal_pos=2, use_l10n=True)

        def totals(label, group):
            line(
                [
                    "",
                    label,
                    "",
                    "",
                    money(sum((r["total"] for r in group), Decimal(0))),
                    *[
                        money(sum((r["vat"].get(rate, 0) for r in group), Decimal(0)))
                        for rate in _LIST_RATES
                    ],
                ],
                bold=True,
            )

        new_page()
        if not rows:
            line(["", _("No receipts in these days.")])
        days: dict = {}
        for row in rows:
            days.setdefault(row["day"], []).append(row)
        for day, group in days.items():
            line([formats.date_format(day, "DATE_FORMAT")], bold=True)
            line([t for _x, t in columns], bold=True)
            for row in group:
                payment = row["method"]
                if row["reference"]:
                    payment += f" {row['reference']}"
                code = row["code"] + (f" ({_('credit')})" if row["credit"] else "")
                line(
                    [
                        row["time"],
                        code,
                        row["order"],
                        payment,
                        money(row["total"]),
                        *[
                            money(row["vat"][rate]) if rate in row["vat"] else ""
                            for rate in _LIST_RATES
                        ],
                    ]
                )
            totals(_("Total of the day"), group)
            state["y"] -= 6
        if len(days) > 1:
            totals(_("Total"), rows)
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()
