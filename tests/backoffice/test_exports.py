"""Exports parsed back (csv, openpyxl, pypdf) and compared with the database."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from ticketshop.orders.models import PaymentMethod, Ticket
from ticketshop.payments.models import SwishPayment, SwishStatus

from .conftest import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def guests(organiser, show):
    event, (standard, student) = show
    issue(organiser, event, {standard.pk: 2}, name="Östen Åkesson", email="o@x.se")
    issue(
        organiser,
        event,
        {student.pk: 1},
        name="Ärla Ek",
        email="a@x.se",
        method=PaymentMethod.CASH,
        prices={student.pk: Decimal("85.50")},
    )
    issue(organiser, event, {student.pk: 1}, name="Bo Berg", email="b@x.se")
    return event


def _expected(event):
    return sorted(
        Ticket.objects.filter(event=event).values_list("external_id", flat=True)
    )


def test_csv_opens_in_excel_with_swedish_characters_and_matches(
    client, organiser, guests
):
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[guests.pk, "csv"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header, data = rows[0], rows[1:]
    assert len(header) == 10
    assert sorted(r[2] for r in data) == _expected(guests)
    # Sorted by name, Swedish letters intact.
    assert [r[0] for r in data] == [
        "Bo Berg",
        "Ärla Ek",
        "Östen Åkesson",
        "Östen Åkesson",
    ]
    assert data[1][4] == "85,50"  # a decimal comma for Swedish Excel


def test_xlsx_parses_back_and_matches(client, organiser, guests):
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[guests.pk, "xlsx"])
    response = client.get(url)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert sorted(r[2] for r in rows[1:]) == _expected(guests)
    assert {r[0] for r in rows[1:]} == {"Bo Berg", "Ärla Ek", "Östen Åkesson"}
    assert sum(r[4] for r in rows[1:]) == pytest.approx(85.5)


def test_door_list_pdf_is_sorted_by_name_with_ticket_ids(client, door_manager, guests):
    client.force_login(door_manager)
    response = client.get(reverse("admin:backoffice_door_list", args=[guests.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages
    )
    for external_id in _expected(guests):
        assert external_id in text
    assert text.index("Bo Berg") < text.index("Ärla Ek") < text.index("Östen")


def test_bookkeeping_lists_payments_and_refunds_in_the_range(client, treasurer, guests):
    order = guests.orders.filter(payment_method=PaymentMethod.CASH).get()
    old = guests.orders.exclude(pk=order.pk).first()
    SwishPayment.objects.create(
        order=old,
        request_id="A" * 32,
        callback_identifier="c",
        amount=Decimal("199.00"),
        status=SwishStatus.PAID,
        payment_reference="PAYREF1",
        date_paid=timezone.now() - timedelta(days=40),
    )
    client.force_login(treasurer)
    today = timezone.localdate()
    url = reverse("admin:backoffice_bookkeeping")
    response = client.get(url, {"from": today, "to": today, "format": "csv"})
    assert response.status_code == 200
    rows = list(
        csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    )[1:]
    # The cash order today; the Swish payment 40 days ago is outside the range.
    assert [r[2] for r in rows] == [order.reference]
    assert rows[0][6] == "85,50" and rows[0][7] == "4,84" and rows[0][8] == "80,66"
    wide = client.get(
        url,
        {"from": today - timedelta(days=60), "to": today, "format": "xlsx"},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(wide.content)).active
    refs = [r[3] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert "PAYREF1" in refs
    bad = client.get(url, {"from": today, "to": today - timedelta(1), "format": "csv"})
    assert bad.status_code == 400
