"""The receipt PDF holds every field a simplified receipt needs, in Swedish
and in English (read back with pypdf); the ticket e-mail carries it."""

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.books.helpers import cancel_some, paid_order
from tests.factories import event_with_types
from ticketshop.books.models import Receipt, ReceiptKind, VatStatus
from ticketshop.books.pdf import render_receipt_pdf
from ticketshop.books.receipts import current_organiser


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def vat_registered(db):
    organiser = current_organiser()
    organiser.legal_name = "Teaterföreningen Scenen"
    organiser.org_number = "802412-3450"
    organiser.vat_status = VatStatus.REGISTERED
    organiser.vat_number = "SE802412345001"
    organiser.save()
    return organiser


EXPECTED = {
    "sv": [
        "Kvitto",
        "Kvittonummer: K2026-00001",
        "Datum:",
        "Säljare: Teaterföreningen Scenen",
        "Organisationsnummer: 802412-3450",
        "Momsregistreringsnummer: SE802412345001",
        "Evenemang:",
        "Moms 6 %:",
        "Moms 12 %:",
        "Summa:",
    ],
    "en": [
        "Receipt",
        "Receipt number: K2026-00001",
        "Date:",
        "Seller: Teaterföreningen Scenen",
        "Organisation number: 802412-3450",
        "VAT registration number: SE802412345001",
        "Event:",
        "VAT 6 %:",
        "VAT 12 %:",
        "Total:",
    ],
}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_receipt_holds_every_required_field(vat_registered, language):
    event, (dinner, show) = event_with_types(prices=("895", "249"))
    dinner.vat_part_rate, dinner.vat_part_amount = 12, Decimal("450")
    dinner.save()
    order = paid_order(event, {dinner: 1, show: 2}, language=language)
    receipt = Receipt.objects.get(order=order)
    receipt.code = "K2026-00001"  # the year of the test run may differ
    text = text_of(render_receipt_pdf(receipt))
    for expected in EXPECTED[language]:
        assert expected in text, (expected, text)
    assert event.title in text
    assert order.reference in text
    assert dinner.title_in(language) in text and show.title_in(language) in text


@pytest.mark.parametrize(
    "language, words",
    [("sv", "Ingen moms"), ("en", "No VAT is charged")],
)
def test_a_seller_without_vat_says_so(db, language, words):
    event, (standard, _) = event_with_types()
    order = paid_order(event, {standard: 1}, language=language)
    text = text_of(render_receipt_pdf(Receipt.objects.get(order=order)))
    assert words in text
    # No VAT number (SE, ten digits, 01) and no VAT heading; the order's
    # random reference may hold the letters "SE".
    assert not re.search(r"SE\d{10}01", text), text
    assert "Momsregistreringsnummer" not in text and "VAT registration" not in text


@pytest.mark.parametrize(
    "language, words", [("sv", "Krediterar kvitto"), ("en", "Credits receipt")]
)
def test_a_credit_receipt_names_the_original(vat_registered, language, words):
    event, (standard, _) = event_with_types()
    order = paid_order(event, {standard: 2}, language=language)
    cancel_some(order, 1)
    sale = Receipt.objects.get(order=order, kind=ReceiptKind.SALE)
    credit = Receipt.objects.get(order=order, kind=ReceiptKind.CREDIT)
    text = text_of(render_receipt_pdf(credit))
    assert f"{words} {sale.code}" in text
