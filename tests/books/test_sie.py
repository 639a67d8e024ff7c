"""The SIE 4i export read back with a reader written from the SIE
specification (tests/books/sie_reader.py): the golden file of a fixed day,
every voucher balanced, refunds apart, per day and per show night, the sums
per account equal to the back office's bookkeeping export, the management
command."""

import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.books.helpers import cancel_some, issued_order, paid_order, registered
from tests.books.sie_reader import SieError, parse
from tests.factories import event_with_types
from ticketshop.backoffice.exports import bookkeeping_rows
from ticketshop.books.sie import build_vouchers, export_sie
from ticketshop.orders.models import PaymentMethod
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "sie-2026-11-20.si"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=STOCKHOLM)


def a_show(title, when, prices=("150", "99"), **types):
    event, ticket_types = event_with_types(
        prices=prices,
        title=title,
        event_at=when,
        sales_stop_at=when - timedelta(hours=1),
    )
    for ticket_type in ticket_types:
        for name, value in types.items():
            setattr(ticket_type, name, value)
        ticket_type.vat_rate = types.get("vat_rate", 6)
        ticket_type.save()
    return event, ticket_types


@pytest.fixture
def sample_day():
    """A fixed day, 20 November 2026: Swish sales of a show at 6 %, a
    dinner-and-show package with its dinner at 12 %, a cash sale, and a
    partial cancellation (a credit receipt)."""
    registered(account_swish="1935")
    show, (standard, student) = a_show("Fysikalen", at(21, 19))
    dinner, (package,) = a_show(
        "Middag och show",
        at(22, 18),
        prices=("895",),
        vat_part_rate=12,
        vat_part_amount=Decimal("450"),
    )
    first = paid_order(show, {standard: 3}, now=at(20, 10, 5))
    paid_order(show, {student: 1}, now=at(20, 11))
    paid_order(dinner, {package: 2}, now=at(20, 12))
    issued_order(show, {standard: 1}, method=PaymentMethod.CASH)
    cancel_some(first, 1, now=at(20, 15))


def cash_to_the_sample_day():
    """The cash order is issued at the real now: move its receipt to the
    sample day so that the golden file stays the same."""
    from ticketshop.books.models import Receipt

    Receipt.objects.filter(payment_method=PaymentMethod.CASH).update(
        issued_at=at(20, 13)
    )


def test_the_sample_day_is_the_golden_file(sample_day):
    cash_to_the_sample_day()
    content = export_sie(
        start=date(2026, 11, 20), end=date(2026, 11, 20), generated=date(2026, 11, 21)
    )
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(content)
        pytest.fail("golden file rewritten: read it, then run without UPDATE_GOLDEN")
    assert content == GOLDEN.read_bytes()


def test_the_golden_file_reads_back_balanced(sample_day):
    cash_to_the_sample_day()
    sie = parse(GOLDEN.read_bytes())
    assert sie.records[0] == ("#FLAGGA", ["0"])
    assert sie.first("#FORMAT") == ["PC8"]
    assert sie.first("#SIETYP") == ["4"]
    assert sie.first("#FNAMN") == ['Teaterföreningen "Scenen" på Söder']
    assert sie.first("#ORGNR") == ["802412-3450"]
    assert sie.first("#GEN") == ["20261121"]
    assert [v.text.split(",")[0] for v in sie.vouchers] == [
        "Biljettförsäljning 2026-11-20",
        "Biljettförsäljning 2026-11-20",
    ]
    sale, refund = sie.vouchers
    assert sale.text.endswith("kvitton K2026-00001 till K2026-00004 (4 st)")
    assert refund.text.endswith("kreditkvitton K2026-00005")
    for voucher in sie.vouchers:
        assert voucher.balance == 0
        assert voucher.date == date(2026, 11, 20)
    # Every account a voucher uses is declared.
    used = {t.account for v in sie.vouchers for t in v.transactions}
    assert used == set(sie.accounts)
    sums = sie.account_sums()
    # Swish: 3 × 150 + 99 + 2 × 895, less one 150 back; cash: 150.
    assert sums["1935"] == Decimal("2189.00")
    assert sums["1910"] == Decimal("150.00")
    # Dinner 2 × 450 at 12 %: VAT 96.43; the rest at 6 %.
    assert sums["2621"] == Decimal("-96.43")
    assert sums["3002"] == Decimal("-803.57")
    assert sums["2631"] + sums["3003"] == Decimal("-1439.00")


def test_a_refund_is_a_voucher_of_its_own(db):
    registered()
    event, (standard, _) = a_show("Fysikalen", timezone.now() + timedelta(days=3))
    order = paid_order(event, {standard: 2})
    cancel_some(order, 1)
    today = timezone.localdate()
    sale, refund = build_vouchers(start=today, end=today)
    assert sale.kind == "SALE" and refund.kind == "CREDIT"
    assert dict(refund.rows) == {
        "1930": Decimal("-150.00"),
        "3003": Decimal("141.51"),
        "2631": Decimal("8.49"),
    }
    assert refund.balance == 0 and sale.balance == 0
    assert "Kreditkvitton" not in sale.text and "kreditkvitton" in refund.text
    # With a refunds account the takings go back on it, the VAT as before.
    registered(account_refunds="3090")
    _sale, refund = build_vouchers(start=today, end=today)
    assert dict(refund.rows)["3090"] == Decimal("141.51")
    assert "3003" not in dict(refund.rows)


def test_per_show_night_gives_each_night_its_voucher(db):
    registered()
    soon = timezone.now() + timedelta(days=3)
    first, (a, _) = a_show("Fysikalen", soon)
    second, (b, _) = a_show("Spex", soon + timedelta(days=1))
    paid_order(first, {a: 1})
    paid_order(second, {b: 2})
    paid_order(first, {a: 1})
    today = timezone.localdate()
    by_day = build_vouchers(start=today, end=today, by="day")
    by_night = build_vouchers(start=today, end=today, by="night")
    assert len(by_day) == 1
    assert len(by_night) == 2
    assert sorted(v.text.split(" ")[0] for v in by_night) == ["Fysikalen", "Spex"]
    assert {a for v in by_night for a, _ in v.rows} == {"1930", "3003", "2631"}
    night_sums: dict[str, Decimal] = {}
    for voucher in by_night:
        assert voucher.balance == 0
        for account, amount in voucher.rows:
            night_sums[account] = night_sums.get(account, 0) + amount
    assert night_sums == dict(by_day[0].rows)
    content = export_sie(start=today, end=today, by="night")
    assert [v.balance for v in parse(content).vouchers] == [0, 0]


def test_the_sums_per_account_equal_the_bookkeeping_export(db):
    """The back office's bookkeeping export (payments Swish paid, cash
    orders, refunds paid back) and the SIE file of the same day agree."""
    organiser = registered(account_swish="1935")
    event, (standard, student) = a_show("Fysikalen", timezone.now() + timedelta(3))
    orders = [
        paid_order(event, {standard: 3}),
        paid_order(event, {student: 1}),
        paid_order(event, {standard: 1}),
    ]
    for order in orders:
        SwishPayment.objects.create(
            order=order,
            request_id=f"{order.pk:032d}",
            callback_identifier="c",
            amount=order.total_price,
            status=SwishStatus.PAID,
            payment_reference=order.payment_reference,
            date_paid=order.paid_at,
        )
    issued_order(event, {student: 2}, method=PaymentMethod.CASH)
    cancel_some(orders[0], 2)
    SwishRefund.objects.create(
        payment=orders[0].swish_payments.get(),
        refund_id="R" * 32,
        callback_identifier="c",
        amount=Decimal("300.00"),
        status=RefundStatus.PAID,
    )
    today = timezone.localdate()
    _header, rows = bookkeeping_rows(today, today)
    report: dict[str, Decimal] = {}
    for row in rows:
        account = (
            organiser.account_swish if row[5] == "Swish" else organiser.account_cash
        )
        report[account] = report.get(account, 0) + row[6]
    report_vat = sum(row[7] for row in rows)
    sie = parse(export_sie(start=today, end=today))
    sums = sie.account_sums()
    assert {a: sums[a] for a in report} == report
    assert report == {"1935": Decimal("399.00"), "1910": Decimal("198.00")}
    assert -(sums["2631"]) == report_vat
    assert all(v.balance == 0 for v in sie.vouchers)


def test_the_management_command_writes_the_file(db, tmp_path):
    registered()
    event, (standard, _) = a_show("Fysikalen", timezone.now() + timedelta(days=3))
    paid_order(event, {standard: 2})
    today = timezone.localdate().isoformat()
    out = tmp_path / "books.si"
    call_command(
        "export_sie", "--from", today, "--to", today, "--by", "night", "-o", str(out)
    )
    sie = parse(out.read_bytes())
    assert len(sie.vouchers) == 1
    assert sie.account_sums()["1930"] == Decimal("300.00")
    assert sie.vouchers[0].text.startswith("Fysikalen ")
    with pytest.raises(CommandError):
        call_command(
            "export_sie", "--from", today, "--to", "2000-01-01", "-o", str(out)
        )
    with pytest.raises(CommandError):
        call_command("export_sie", "--from", "yesterday", "--to", today, "-o", str(out))


def test_the_reader_refuses_what_the_specification_does_not_allow():
    good = (
        b'#FLAGGA 0\r\n#VER A "" 20261120 "x"\r\n{\r\n   #TRANS 1930 {} 1.00\r\n}\r\n'
    )
    assert parse(good).vouchers[0].balance == Decimal("1.00")
    for bad in (
        good.replace(b"1.00", b"1,00"),
        good.replace(b"#FLAGGA 0\r\n", b""),
        good.replace(b"}\r\n", b""),
        good.replace(b"20261120", b"2026-11-20"),
        b"#FLAGGA 0\r\n#TRANS 1930 {} 1.00\r\n",
        b'#FLAGGA 0\r\n#FNAMN "open\r\n',
    ):
        with pytest.raises(SieError):
            parse(bad)
