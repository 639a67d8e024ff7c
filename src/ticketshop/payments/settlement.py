"""The Swish settlement of a day: what Swish paid in and paid back, each
with Swish's reference, held against the orders and the receipts.

Money in is each Swish payment Swish paid that day (``date_paid``); money
out each refund Swish paid back that day (the day it became PAID, as the
bookkeeping export counts it). Each is matched:

- a payment with the order it paid (the order took it: its payment
  reference is the order's) and that order's receipt, to the öre;
- a refund with a credit receipt of its order of the same amount, or with
  the payment the shop never accepted that it returns;
- a Swish order paid that day with a paid Swish payment;
- a credit receipt of a Swish order issued that day with a paid refund.

What does not match is a difference, listed with its reason: a payment
without a paid order, a paid order without a payment, an amount that is
not the receipt's, a refund without its credit receipt, a credit receipt
whose money is not (yet) paid back.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ticketshop.books.models import Receipt, ReceiptKind
from ticketshop.orders.models import Order, PaymentMethod

from .models import RefundStatus, SwishPayment, SwishRefund, SwishStatus

ZERO = Decimal("0.00")

MATCHED = "matched"
RETURNED = "returned"
PAYMENT_WITHOUT_ORDER = "payment_without_order"
ORDER_WITHOUT_PAYMENT = "order_without_payment"
AMOUNT_MISMATCH = "amount_mismatch"
REFUND_WITHOUT_RECORD = "refund_without_record"
CREDIT_NOT_PAID_BACK = "credit_not_paid_back"

OUTCOMES = {
    MATCHED: _("matched"),
    RETURNED: _("paid back: money the shop did not accept"),
    PAYMENT_WITHOUT_ORDER: _("payment without a paid order"),
    ORDER_WITHOUT_PAYMENT: _("paid order without a Swish payment"),
    AMOUNT_MISMATCH: _("amount differs from the receipt"),
    REFUND_WITHOUT_RECORD: _("refund without its credit receipt"),
    CREDIT_NOT_PAID_BACK: _("credit receipt not paid back (yet)"),
}


@dataclass
class Row:
    at: datetime
    kind: str  # "in" or "out"
    swish_reference: str
    order_reference: str
    amount: Decimal  # signed: money in positive, paid back negative
    receipt: str
    outcome: str
    note: str = ""

    @property
    def is_difference(self) -> bool:
        return self.outcome not in (MATCHED, RETURNED)

    @property
    def outcome_label(self) -> str:
        return str(OUTCOMES[self.outcome])


@dataclass
class Day:
    day: date
    rows: list[Row] = field(default_factory=list)

    @property
    def paid_in(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.kind == "in"), ZERO)

    @property
    def paid_out(self) -> Decimal:
        return -sum((r.amount for r in self.rows if r.kind == "out"), ZERO)

    @property
    def net(self) -> Decimal:
        return self.paid_in - self.paid_out

    @property
    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.is_difference]


def _bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    since = datetime.combine(day, time.min, tzinfo=tz)
    return since, since + timedelta(days=1)


def _accepted(payment: SwishPayment) -> bool:
    order = payment.order
    return bool(
        order.paid_at
        and payment.payment_reference
        and payment.payment_reference == order.payment_reference
    )


def _sale_receipts(order: Order) -> list[Receipt]:
    """The order's receipts of its Swish payment: not the receipt of a
    dearer exchange's difference (it names the order's receipt), which was
    paid at the door, not by the Swish payment."""
    return [
        r
        for r in order.receipts.all()
        if r.kind == ReceiptKind.SALE and r.original_id is None
    ]


def _payment_rows(since, until) -> list[Row]:
    rows = []
    payments = (
        SwishPayment.objects.filter(
            status=SwishStatus.PAID, date_paid__gte=since, date_paid__lt=until
        )
        .select_related("order")
        .prefetch_related("order__receipts")
        .order_by("date_paid", "pk")
    )
    for payment in payments:
        order = payment.order
        row = Row(
            at=payment.date_paid,
            kind="in",
            swish_reference=payment.payment_reference,
            order_reference=order.reference,
            amount=payment.amount,
            receipt="",
            outcome=MATCHED,
        )
        sales = _sale_receipts(order)
        if not _accepted(payment):
            refunded = sum(
                (
                    r.amount
                    for r in payment.refunds.all()
                    if r.status == RefundStatus.PAID
                ),
                ZERO,
            )
            row.outcome = (
                RETURNED if refunded >= payment.amount else (PAYMENT_WITHOUT_ORDER)
            )
        elif sales:
            row.receipt = ", ".join(r.code for r in sales)
            expected = sum((r.total for r in sales), ZERO)
            if expected != payment.amount:
                row.outcome = AMOUNT_MISMATCH
                row.note = f"{expected:.2f}"
        elif payment.amount != order.total_price:
            row.outcome = AMOUNT_MISMATCH
            row.note = f"{order.total_price:.2f}"
        rows.append(row)
    return rows


def _orders_without_payment(since, until) -> list[Row]:
    rows = []
    orders = Order.objects.filter(
        payment_method=PaymentMethod.SWISH,
        paid_at__gte=since,
        paid_at__lt=until,
        total_price__gt=0,
    ).order_by("paid_at", "pk")
    for order in orders:
        paid = SwishPayment.objects.filter(
            order=order,
            status=SwishStatus.PAID,
            payment_reference=order.payment_reference,
        ).exists()
        if order.payment_reference and paid:
            continue
        sales = _sale_receipts(order)
        rows.append(
            Row(
                at=order.paid_at,
                kind="order",
                swish_reference=order.payment_reference,
                order_reference=order.reference,
                amount=ZERO,
                receipt=", ".join(r.code for r in sales),
                outcome=ORDER_WITHOUT_PAYMENT,
                note=f"{order.total_price:.2f}",
            )
        )
    return rows


def _refund_rows(since, until) -> list[Row]:
    rows = []
    refunds = (
        SwishRefund.objects.filter(
            status=RefundStatus.PAID, updated_at__gte=since, updated_at__lt=until
        )
        .select_related("payment__order")
        .order_by("updated_at", "pk")
    )
    for refund in refunds:
        payment = refund.payment
        order = payment.order
        row = Row(
            at=refund.updated_at,
            kind="out",
            swish_reference=(refund.raw or {}).get("paymentReference")
            or refund.refund_id,
            order_reference=order.reference,
            amount=-refund.amount,
            receipt="",
            outcome=MATCHED,
        )
        if not _accepted(payment):
            row.outcome = RETURNED
        else:
            credit = _credit_for(refund)
            if credit is None:
                row.outcome = REFUND_WITHOUT_RECORD
            else:
                row.receipt = credit.code
        rows.append(row)
    return rows


def _pairs(order: Order) -> dict[int, Receipt]:
    """The order's paid refunds paired with its credit receipts of the same
    amount, in the order both were made: {refund id: credit receipt}."""
    credits = list(
        Receipt.objects.filter(order=order, kind=ReceiptKind.CREDIT).order_by(
            "issued_at", "pk"
        )
    )
    refunds = SwishRefund.objects.filter(
        payment__order=order,
        payment__payment_reference=order.payment_reference,
        status=RefundStatus.PAID,
    ).order_by("created_at", "pk")
    paired: dict[int, Receipt] = {}
    for refund in refunds:
        for credit in credits:
            if -credit.total == refund.amount:
                paired[refund.pk] = credit
                credits.remove(credit)
                break
    return paired


def _credit_for(refund: SwishRefund) -> Receipt | None:
    return _pairs(refund.payment.order).get(refund.pk)


def _credits_not_paid_back(since, until) -> list[Row]:
    rows = []
    credits = (
        Receipt.objects.filter(
            kind=ReceiptKind.CREDIT,
            payment_method=PaymentMethod.SWISH,
            issued_at__gte=since,
            issued_at__lt=until,
        )
        .select_related("order")
        .order_by("issued_at", "pk")
    )
    for credit in credits:
        if credit in _pairs(credit.order).values():
            continue
        rows.append(
            Row(
                at=credit.issued_at,
                kind="credit",
                swish_reference="",
                order_reference=credit.order.reference,
                amount=ZERO,
                receipt=credit.code,
                outcome=CREDIT_NOT_PAID_BACK,
                note=f"{-credit.total:.2f}",
            )
        )
    return rows


def settlement(start: date, end: date) -> list[Day]:
    """The settlement of each day from ``start`` to ``end`` (inclusive)."""
    days: OrderedDict[date, Day] = OrderedDict()
    day = start
    while day <= end:
        since, until = _bounds(day)
        rows = [
            *_payment_rows(since, until),
            *_refund_rows(since, until),
            *_orders_without_payment(since, until),
            *_credits_not_paid_back(since, until),
        ]
        rows.sort(key=lambda r: r.at)
        days[day] = Day(day=day, rows=rows)
        day += timedelta(days=1)
    return list(days.values())


def settlement_csv_rows(days: list[Day]) -> tuple[list[str], list[list]]:
    header = [
        str(_("Date")),
        str(_("Time")),
        str(_("Kind")),
        str(_("Swish reference")),
        str(_("Order")),
        str(_("Amount (SEK)")),
        str(_("Receipt")),
        str(_("Result")),
        str(_("Expected (SEK)")),
    ]
    kinds = {
        "in": _("paid in"),
        "out": _("paid back"),
        "order": _("order"),
        "credit": _("credit receipt"),
    }
    rows = [
        [
            day.day.isoformat(),
            timezone.localtime(row.at).strftime("%H:%M:%S"),
            str(kinds[row.kind]),
            row.swish_reference,
            row.order_reference,
            row.amount,
            row.receipt,
            row.outcome_label,
            row.note,
        ]
        for day in days
        for row in day.rows
    ]
    return header, rows
