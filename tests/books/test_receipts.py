"""Receipts: issued with the payment, numbered without gaps, VAT to the öre,
credit receipts that reverse exactly what was cancelled."""

from decimal import Decimal

import pytest

from tests.books.helpers import (
    cancel_all,
    cancel_some,
    free_order,
    issued_order,
    paid_order,
)
from tests.factories import event_with_types
from ticketshop.books.models import Organiser, Receipt, ReceiptKind, VatStatus
from ticketshop.books.receipts import current_organiser
from ticketshop.books.vat import split_price, vat_included
from ticketshop.orders.models import PaymentMethod


def registered():
    organiser = current_organiser()
    organiser.vat_status = VatStatus.REGISTERED
    organiser.org_number = "802412-3450"
    organiser.vat_number = "SE802412345001"
    organiser.save()
    return organiser


def assert_lines_add_up(receipt):
    lines = list(receipt.lines.all())
    assert receipt.total == sum(line.amount for line in lines)
    assert receipt.vat_total == sum(line.vat for line in lines)
    for line in lines:
        assert line.amount == line.part_of_price * line.count * (
            -1 if receipt.kind == ReceiptKind.CREDIT else 1
        )


def test_vat_rounds_half_up_to_the_ore():
    assert vat_included(Decimal("100"), rate=6) == Decimal("5.66")
    assert vat_included(Decimal("199"), rate=25) == Decimal("39.80")
    # 53 × 6 / 106 = 3.00 exactly; 0.53 kr × 6 / 106 = 0.03
    assert vat_included(Decimal("0.53"), rate=6) == Decimal("0.03")
    assert vat_included(Decimal("1.06"), rate=6) == Decimal("0.06")
    # 0.265 rounds up (half up), not to even
    assert vat_included(Decimal("2.47"), rate=12) == Decimal("0.26")
    assert vat_included(Decimal("100"), rate=0) == Decimal("0.00")
    with pytest.raises(ValueError):
        vat_included(Decimal("100"), rate=7)


def test_a_split_price_puts_its_part_at_its_own_rate():
    assert split_price(
        Decimal("895"), rate=6, part_rate=12, part_amount=Decimal("450")
    ) == [(12, Decimal("450")), (6, Decimal("445"))]
    assert split_price(
        Decimal("300"), rate=6, part_rate=12, part_amount=Decimal("450")
    ) == [(12, Decimal("300"))]
    assert split_price(Decimal("0"), rate=6, part_rate=None, part_amount=None) == [
        (6, Decimal("0"))
    ]


@pytest.mark.django_db
def test_a_paid_order_gets_a_numbered_receipt_with_vat_per_line():
    registered()
    event, (dinner, show) = event_with_types(prices=("895", "249"))
    dinner.vat_part_rate, dinner.vat_part_amount = 12, Decimal("450")
    dinner.save()
    order = paid_order(event, {dinner: 2, show: 3})
    receipt = Receipt.objects.get(order=order)
    assert receipt.kind == ReceiptKind.SALE
    assert receipt.number == 1
    assert receipt.code.endswith("-00001")
    assert receipt.seller_vat_number == "SE802412345001"
    assert_lines_add_up(receipt)
    per_rate = receipt.vat_per_rate()
    assert per_rate[12] == (Decimal("900"), vat_included(Decimal("900"), rate=12))
    assert per_rate[6] == (
        Decimal("890") + Decimal("747"),
        vat_included(Decimal("890"), rate=6) + vat_included(Decimal("747"), rate=6),
    )
    assert receipt.total == order.total_price


@pytest.mark.django_db
def test_an_organiser_not_liable_charges_no_vat():
    event, (standard, _) = event_with_types()
    order = paid_order(event, {standard: 2})
    receipt = Receipt.objects.get(order=order)
    assert receipt.vat_status == VatStatus.NOT_LIABLE
    assert receipt.vat_total == 0
    assert {line.rate for line in receipt.lines.all()} == {0}
    assert receipt.seller_vat_number == ""


@pytest.mark.django_db
def test_free_and_complimentary_orders_get_no_receipt():
    event, (standard, free) = event_with_types(prices=("199", "0"))
    free_order(event, {free: 2})
    issued_order(event, {standard: 1}, method=PaymentMethod.COMPLIMENTARY)
    assert not Receipt.objects.exists()
    cash = issued_order(event, {standard: 1}, method=PaymentMethod.CASH)
    assert Receipt.objects.get().order == cash


@pytest.mark.django_db
def test_credit_receipts_reverse_exactly_what_was_cancelled():
    registered()
    event, (standard, _) = event_with_types(prices=("99.50", "99"))
    # 99.50 × 3 = 298.50 → VAT 16.90; one ticket alone would be 5.63, two 11.26
    order = paid_order(event, {standard: 3})
    sale = Receipt.objects.get(order=order)
    cancel_some(order, 1)
    cancel_some(order, 1)
    cancel_all(order)
    credits = list(Receipt.objects.filter(kind=ReceiptKind.CREDIT).order_by("number"))
    assert len(credits) == 3
    assert all(c.original == sale for c in credits)
    assert [c.number for c in credits] == [2, 3, 4]
    for credit in credits:
        assert_lines_add_up(credit)
    assert credits[0].total == Decimal("-99.50")
    assert sum(c.total for c in credits) == -sale.total
    assert sum(c.vat_total for c in credits) == -sale.vat_total


@pytest.mark.django_db
def test_a_cancelled_free_order_gets_no_credit_receipt():
    event, (_, free) = event_with_types(prices=("199", "0"))
    order = free_order(event, {free: 2})
    cancel_all(order)
    assert not Receipt.objects.exists()


@pytest.mark.django_db
def test_the_series_starts_again_each_year_per_organiser():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    event, (standard, _) = event_with_types()
    late = datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    early = datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    from django.db import transaction

    from ticketshop.books.receipts import next_number

    organiser = current_organiser()
    with transaction.atomic():
        assert next_number(organiser, year=late.year) == 1
        assert next_number(organiser, year=late.year) == 2
        assert next_number(organiser, year=early.year) == 1
    assert Organiser.objects.count() == 1


@pytest.mark.django_db
def test_the_first_settings_take_a_real_vat_number_from_the_environment(settings):
    settings.DELIVERY_VAT_NUMBER = "SE802412345001"
    organiser = current_organiser()
    assert organiser.vat_status == VatStatus.REGISTERED
    assert organiser.org_number == "802412-3450"


@pytest.mark.django_db
def test_the_demo_vat_number_leaves_the_seller_not_liable(settings):
    settings.DELIVERY_VAT_NUMBER = "SE000000000001"
    assert current_organiser().vat_status == VatStatus.NOT_LIABLE
