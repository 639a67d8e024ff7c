"""Exports never hand a spreadsheet a live formula: text that starts like
one (from buyers' addresses, organisers' names and titles) is written as
text with a leading apostrophe; amounts, negative refunds too, stay numbers."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.backoffice import exports
from ticketshop.orders.models import PaymentMethod
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

from .conftest import issue

pytestmark = pytest.mark.django_db

EMAIL = "=cmd|'/Ccalc'!A0@example.com"
NAME = '=HYPERLINK("http://evil.example/","Klicka")'
TITLE = "+1+2 Fysikalen"


@pytest.fixture
def hostile(organiser):
    """An event with a formula-like title and one order whose name and
    e-mail address start like formulas, paid in cash, then partly refunded."""
    event, (standard, _student) = event_with_types(seats=10, title=TITLE)
    order = issue(
        organiser,
        event,
        {standard.pk: 1},
        name=NAME,
        email=EMAIL,
        method=PaymentMethod.CASH,
        prices={standard.pk: Decimal("199.00")},
    )
    payment = SwishPayment.objects.create(
        order=order,
        request_id="B" * 32,
        callback_identifier="c",
        amount=Decimal("199.00"),
        status=SwishStatus.PAID,
        payment_reference="@SUM(A1)",
        date_paid=timezone.now(),
    )
    SwishRefund.objects.create(
        payment=payment,
        refund_id="R" * 32,
        callback_identifier="d",
        amount=Decimal("199.00"),
        status=RefundStatus.PAID,
    )
    return event


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(
        csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    )


def _sheet(response):
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


def test_attendee_csv_writes_formula_like_name_and_email_as_text(
    client, organiser, hostile
):
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[hostile.pk, "csv"])
    rows = _csv(client.get(url))
    assert rows[1][0] == "'" + NAME
    assert rows[1][1] == "'" + EMAIL
    assert rows[1][4] == "199,00"  # the price stays a plain number


def test_attendee_xlsx_cells_are_text_not_formulas(client, organiser, hostile):
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[hostile.pk, "xlsx"])
    sheet = _sheet(client.get(url))
    name, email = sheet.cell(row=2, column=1), sheet.cell(row=2, column=2)
    assert (name.data_type, name.value) == ("s", "'" + NAME)
    assert (email.data_type, email.value) == ("s", "'" + EMAIL)
    price = sheet.cell(row=2, column=5)
    assert (price.data_type, price.value) == ("n", 199)
    formulas = [
        c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


def test_bookkeeping_keeps_negative_refunds_numeric_and_titles_inert(
    client, treasurer, hostile
):
    client.force_login(treasurer)
    today = timezone.localdate()
    url = reverse("admin:backoffice_bookkeeping")
    span = {"from": today - timedelta(days=1), "to": today + timedelta(days=1)}

    rows = _csv(client.get(url, {**span, "format": "csv"}))[1:]
    refund = next(r for r in rows if r[3] == "R" * 32)
    assert refund[4] == "'" + TITLE
    assert refund[6] == "-199,00"  # data, not a formula: no apostrophe
    swish = next(r for r in rows if r[5] == "Swish" and r[3] != "R" * 32)
    assert swish[3] == "'@SUM(A1)"

    sheet = _sheet(client.get(url, {**span, "format": "xlsx"}))
    cells = {row[3].value: row for row in sheet.iter_rows(min_row=2)}
    amount = cells["R" * 32][6]
    assert (amount.data_type, amount.value) == ("n", -199)
    event = cells["R" * 32][4]
    assert (event.data_type, event.value) == ("s", "'" + TITLE)
    assert cells["'@SUM(A1)"][3].data_type == "s"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+46701234567", "'+46701234567"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("  =1+2", "'  =1+2"),
        ("Anna-Karin", "Anna-Karin"),
        ("anna@example.se", "anna@example.se"),
        ("", ""),
        (Decimal("-199.00"), Decimal("-199.00")),
        (3, 3),
        (None, None),
    ],
)
def test_inert_neutralises_text_only(value, shown):
    assert exports.inert(value) == shown


def test_sheet_name_with_characters_excel_refuses_still_exports(client, organiser):
    event, (standard, _student) = event_with_types(title="Vår/Höst [del 1]?")
    issue(organiser, event, {standard.pk: 1})
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[event.pk, "xlsx"])
    assert _sheet(client.get(url)).title == "Vår-Höst -del 1--"


def test_control_character_in_a_name_does_not_stop_the_xlsx(client, organiser):
    event, (standard, _student) = event_with_types()
    issue(organiser, event, {standard.pk: 1}, name="Bo\x07Berg")
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[event.pk, "xlsx"])
    assert _sheet(client.get(url)).cell(row=2, column=1).value == "Bo\ufffdBerg"
