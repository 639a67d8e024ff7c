"""An exchange in the books: an exchange to cheaper tickets gets a credit
receipt naming the original, whose total is the difference paid back; a
dearer one gets a receipt of its own when the difference is collected at
the door. Both are in the SIE file, and the Swish settlement pairs a
refund with its credit receipt and a payment with the order's receipt."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone, translation

from tests.books.helpers import cancel_some, paid_order, registered
from tests.books.test_settlement_and_pages import paid_back, swish_paid
from tests.factories import event_with_types
from ticketshop.backoffice import services
from ticketshop.books.models import Receipt, ReceiptKind
from ticketshop.books.pdf import receipt_texts
from ticketshop.books.sie import build_vouchers
from ticketshop.orders import lifecycle
from ticketshop.orders.lifecycle import lock_order
from ticketshop.payments import settlement as s

pytestmark = pytest.mark.django_db


def exchange(order, type_map, prices, *, event=None):
    with transaction.atomic(durable=True):
        return lifecycle.exchange(
            lock_order(order.pk),
            event_id=(event or order.event).pk,
            type_map={old.pk: new.pk for old, new in type_map.items()},
            prices={new.pk: Decimal(price) for new, price in prices.items()},
            now=timezone.now(),
        )


@pytest.fixture
def types():
    registered()
    event, (standard, student) = event_with_types(prices=("150", "99"))
    student.vat_rate = 12  # another rate, so that each line keeps its own
    student.save()
    return event, standard, student


def test_a_cheaper_exchange_gets_a_credit_receipt_of_the_difference(types):
    event, standard, student = types
    order = paid_order(event, {standard: 2})
    (sale,) = Receipt.objects.filter(order=order)

    done = exchange(order, {standard: student}, {student: "99"})

    assert done.difference == Decimal("-102")
    credit = Receipt.objects.get(order=order, kind=ReceiptKind.CREDIT)
    assert credit.original == sale
    assert credit.total == Decimal("-102.00")
    lines = sorted(
        (line.rate, line.count, line.amount, line.vat) for line in credit.lines.all()
    )
    # 2 × 150 kr at 6 % back (16,98 kr VAT), 2 × 99 kr at 12 % sold (21,21 kr).
    assert lines == [
        (6, 2, Decimal("-300.00"), Decimal("-16.98")),
        (12, 2, Decimal("198.00"), Decimal("21.21")),
    ]
    assert credit.vat_total == Decimal("4.23")
    with translation.override("sv"):
        assert f"Krediterar kvitto {sale.code}" in " ".join(receipt_texts(credit))

    # A later cancellation credits the new tickets the receipts now hold.
    cancel_some(order, 1)
    last = Receipt.objects.filter(order=order).order_by("-pk").first()
    assert last.total == Decimal("-99.00")
    assert sum(r.total for r in Receipt.objects.filter(order=order)) == Decimal("99.00")


def test_a_dearer_or_even_exchange_gets_no_credit_receipt(types):
    event, standard, student = types
    order = paid_order(event, {student: 1})

    exchange(order, {student: standard}, {standard: "150"})

    assert not Receipt.objects.filter(order=order, kind=ReceiptKind.CREDIT).exists()


def test_the_exchange_credit_is_in_the_sie_file_and_pairs_with_its_refund(types):
    event, standard, student = types
    order = paid_order(event, {standard: 2})
    payment = swish_paid(order, amount=Decimal("300.00"))
    exchange(order, {standard: student}, {student: "99"})
    paid_back(payment, "102.00", "EX")
    today = timezone.localdate()

    _sale, refund = build_vouchers(start=today, end=today)
    credit = Receipt.objects.get(order=order, kind=ReceiptKind.CREDIT)
    assert refund.receipts == [credit.code]
    assert sum(amount for _account, amount in refund.rows) == 0
    assert dict(refund.rows)["1930"] == Decimal("-102.00")

    (day,) = s.settlement(today, today)
    outcomes = {(row.kind, row.outcome) for row in day.rows}
    assert ("out", s.MATCHED) in outcomes
    assert all(row.outcome != s.REFUND_WITHOUT_RECORD for row in day.rows)


def collect(order, amount, method="CASH", key="door-1"):
    return services.collect_at_door(
        order_id=order.pk,
        amount=Decimal(amount),
        method=method,
        key=key,
        recorded_by="dorr",
    )


def test_a_dearer_exchange_gets_its_receipt_when_the_difference_is_collected(types):
    event, standard, student = types
    order = paid_order(event, {student: 1})
    payment = swish_paid(order, amount=Decimal("99.00"))
    (sale,) = Receipt.objects.filter(order=order)
    exchange(order, {student: standard}, {standard: "150"})
    assert Receipt.objects.filter(order=order).count() == 1  # nothing paid yet

    collect(order, "51")

    extra = Receipt.objects.get(order=order, original=sale)
    assert extra.kind == ReceiptKind.SALE
    assert (extra.year, extra.number) == (sale.year, sale.number + 1)
    assert extra.payment_method == "CASH" and extra.payment_reference == ""
    assert extra.total == Decimal("51.00")
    lines = sorted(
        (line.rate, line.count, line.amount, line.vat) for line in extra.lines.all()
    )
    # 99 kr at 12 % taken back (10,61 kr VAT), 150 kr at 6 % sold (8,49 kr).
    assert lines == [
        (6, 1, Decimal("150.00"), Decimal("8.49")),
        (12, 1, Decimal("-99.00"), Decimal("-10.61")),
    ]
    with translation.override("sv"):
        assert f"orderns kvitto är {sale.code}" in " ".join(receipt_texts(extra))

    # In the SIE file, on the cash account; the Swish payment still matches
    # the order's own receipt.
    today = timezone.localdate()
    (sales,) = build_vouchers(start=today, end=today)
    assert extra.code in sales.receipts
    assert dict(sales.rows)["1910"] == Decimal("51.00")
    assert sum(amount for _account, amount in sales.rows) == 0
    (day,) = s.settlement(today, today)
    (row,) = [r for r in day.rows if r.kind == "in"]
    assert row.outcome == s.MATCHED and row.amount == payment.amount

    # A later cancellation credits what the receipts now hold: all of it.
    cancel_some(order, 1)
    assert sum(r.total for r in Receipt.objects.filter(order=order)) == 0


def test_a_collection_in_parts_gets_no_receipt_yet(types):
    event, standard, student = types
    order = paid_order(event, {student: 1})
    exchange(order, {student: standard}, {standard: "150"})

    collect(order, "20")

    assert Receipt.objects.filter(order=order).count() == 1
