"""The Swish settlement (payments and refunds matched with orders and
receipts, differences listed) and the treasurer's pages over HTTP: the SIE
export, the receipt list and the settlement, for staff with the books'
permissions only."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from tests.books.helpers import cancel_some, paid_order, registered
from tests.books.sie_reader import parse
from tests.factories import event_with_types
from ticketshop.backoffice.models import AuditEntry
from ticketshop.books.models import Receipt, ReceiptKind
from ticketshop.orders.services import TicketLine, reserve_tickets
from ticketshop.payments import settlement as s
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

pytestmark = pytest.mark.django_db

SIE = "/admin/books/receipt/sie/"
SETTLEMENT = "/admin/books/receipt/swish-settlement/"


def swish_paid(order, *, amount=None, reference=None, request_id=None):
    return SwishPayment.objects.create(
        order=order,
        request_id=request_id or f"{order.pk:032d}",
        callback_identifier="c",
        amount=order.total_price if amount is None else amount,
        status=SwishStatus.PAID,
        payment_reference=order.payment_reference if reference is None else reference,
        date_paid=timezone.now(),
    )


def paid_back(payment, amount, refund_id):
    return SwishRefund.objects.create(
        payment=payment,
        refund_id=refund_id.ljust(32, "0"),
        callback_identifier="c",
        amount=Decimal(amount),
        status=RefundStatus.PAID,
        raw={"paymentReference": f"SWISH-{refund_id}"},
    )


@pytest.fixture
def day_of_sales(db):
    """A day with one of each: matched, and every kind of difference."""
    event, (standard, student) = event_with_types(prices=("150", "99"))
    ok = paid_order(event, {standard: 2})
    swish_paid(ok)
    refunded = paid_order(event, {standard: 2})
    payment = swish_paid(refunded)
    cancel_some(refunded, 1)
    paid_back(payment, "150.00", "RA")
    no_payment = paid_order(event, {student: 1})
    wrong_amount = paid_order(event, {student: 2})
    swish_paid(wrong_amount, amount=Decimal("99.00"))
    unpaid = reserve_tickets(
        event_id=event.pk, lines=[TicketLine(ticket_type_id=standard.pk, count=1)]
    )
    swish_paid(unpaid, amount=Decimal("150.00"), reference="LATE1")
    returned = reserve_tickets(
        event_id=event.pk, lines=[TicketLine(ticket_type_id=student.pk, count=1)]
    )
    late = swish_paid(returned, amount=Decimal("99.00"), reference="LATE2")
    paid_back(late, "99.00", "RB")
    extra = paid_order(event, {standard: 2})
    extra_payment = swish_paid(extra)
    paid_back(extra_payment, "50.00", "RC")  # no credit receipt for it
    credited = paid_order(event, {standard: 2})
    swish_paid(credited)
    cancel_some(credited, 1)  # credit receipt, refund not paid back
    return {
        "ok": ok,
        "refunded": refunded,
        "no_payment": no_payment,
        "wrong_amount": wrong_amount,
        "unpaid": unpaid,
        "returned": returned,
        "extra": extra,
        "credited": credited,
    }


def _outcomes(day):
    return sorted((row.order_reference, row.kind, row.outcome) for row in day.rows)


def test_the_settlement_matches_and_lists_the_differences(day_of_sales):
    o = {name: order.reference for name, order in day_of_sales.items()}
    today = timezone.localdate()
    (day,) = s.settlement(today, today)
    assert _outcomes(day) == sorted(
        [
            (o["ok"], "in", s.MATCHED),
            (o["refunded"], "in", s.MATCHED),
            (o["refunded"], "out", s.MATCHED),
            (o["no_payment"], "order", s.ORDER_WITHOUT_PAYMENT),
            (o["wrong_amount"], "in", s.AMOUNT_MISMATCH),
            (o["unpaid"], "in", s.PAYMENT_WITHOUT_ORDER),
            (o["returned"], "in", s.RETURNED),
            (o["returned"], "out", s.RETURNED),
            (o["extra"], "in", s.MATCHED),
            (o["extra"], "out", s.REFUND_WITHOUT_RECORD),
            (o["credited"], "in", s.MATCHED),
            (o["credited"], "credit", s.CREDIT_NOT_PAID_BACK),
        ]
    )
    assert len(day.differences) == 5
    # In: 300 + 300 + 99 + 150 + 99 + 300 + 300; out: 150 + 99 + 50.
    assert day.paid_in == Decimal("1548.00")
    assert day.paid_out == Decimal("299.00")
    refund = next(r for r in day.rows if r.kind == "out" and r.outcome == s.MATCHED)
    assert refund.swish_reference == "SWISH-RA"
    assert refund.receipt == (
        Receipt.objects.get(
            order=day_of_sales["refunded"], kind=ReceiptKind.CREDIT
        ).code
    )
    mismatch = next(r for r in day.rows if r.outcome == s.AMOUNT_MISMATCH)
    assert mismatch.note == "198.00"
    # The day before has nothing.
    (before,) = s.settlement(today - timedelta(1), today - timedelta(1))
    assert before.rows == []


@pytest.fixture
def treasurer(db):
    user = User.objects.create_user("kassor", "k@example.org", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="books")
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_pages_want_staff_with_the_books(db):
    today = timezone.localdate().isoformat()
    for path in (SIE, SETTLEMENT, f"{SIE}?from={today}&to={today}&format=sie"):
        anonymous = Client().get(path)
        assert anonymous.status_code == 302
        assert "/admin/login/" in anonymous["Location"]
    member = User.objects.create_user("medlem", password="pw")
    client = Client()
    client.force_login(member)
    refused = client.get(SIE)
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    staff = User.objects.create_user("volontar", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(SIE).status_code == 403
    assert client.get(SETTLEMENT).status_code == 403


def test_the_treasurer_downloads_the_sie_file_and_the_receipt_list(treasurer):
    registered()
    event, (standard, _) = event_with_types(prices=("150", "99"))
    order = paid_order(event, {standard: 2})
    receipt = Receipt.objects.get(order=order)
    today = timezone.localdate().isoformat()
    page = treasurer.get(SIE, {"from": today, "to": today, "by": "day"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 voucher" in html and receipt.code in html
    assert "SIE export and receipt list" in treasurer.get(SIE).content.decode()
    download = treasurer.get(
        SIE, {"from": today, "to": today, "by": "night", "format": "sie"}
    )
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    sie = parse(download.content)
    assert sie.account_sums()["1930"] == Decimal("300.00")
    pdf = treasurer.get(SIE, {"from": today, "to": today, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert receipt.code in text and order.reference in text and "16.98" in text
    assert AuditEntry.objects.filter(action="export").count() == 2
    listing = treasurer.get("/admin/books/receipt/").content.decode()
    assert SIE in listing and SETTLEMENT in listing


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01", "to": "2026-12-01"},
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "2024-01-01", "to": "2026-12-01"},
        {"from": "", "to": ""},
        {"from": "2026-12-01", "to": "2026-12-01", "by": "week"},
        {"from": "2026-12-01", "to": "2026-12-01", "format": "exe"},
    ],
)
def test_bad_input_is_a_clear_400(treasurer, query):
    assert treasurer.get(SIE, {"by": "day", **query}).status_code == 400
    if "by" not in query:
        assert treasurer.get(SETTLEMENT, query).status_code == 400


def test_the_settlement_page_and_its_csv(treasurer, day_of_sales):
    today = timezone.localdate().isoformat()
    page = treasurer.get(SETTLEMENT, {"from": today, "to": today})
    assert page.status_code == 200
    html = page.content.decode()
    assert "5 differences" in html
    assert "paid order without a Swish payment" in html
    response = treasurer.get(SETTLEMENT, {"from": today, "to": today, "format": "csv"})
    rows = list(
        csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0][3] == "Swish reference"
    assert len(rows) == 1 + 12
    assert sum(1 for r in rows[1:] if r[7] == "matched") == 5
    assert "LATE1" in {r[3] for r in rows}
    assert AuditEntry.objects.filter(action="export").count() == 1
