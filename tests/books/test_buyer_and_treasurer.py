"""The buyer's receipts and invoice request on the order's page; the
treasurer's settings, receipts and invoice requests in the back office;
the receipt attached to the ticket e-mail."""

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from pypdf import PdfReader

from tests.books.helpers import paid_order
from tests.factories import event_with_types
from ticketshop.backoffice.models import AuditEntry
from ticketshop.books.identity import luhn_ok, normalise_org_number
from ticketshop.books.models import InvoiceRequest, InvoiceStatus, Organiser, Receipt
from ticketshop.delivery.emails import build_ticket_email
from ticketshop.shop.return_links import make_return_value
from ticketshop.statemachine.models import StateChange


@pytest.fixture
def treasurer(db):
    user = User.objects.create_user("kassor", "k@example.org", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="books")
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def paid(db):
    event, (standard, _) = event_with_types(prices=("150", "99"))
    return paid_order(event, {standard: 2}, language="en")


def test_the_luhn_check_refuses_a_typo():
    assert normalise_org_number("8024123450") == "802412-3450"
    assert normalise_org_number("16802412-3450") == "802412-3450"
    assert luhn_ok("8024123450")
    for wrong in ("802412-3451", "80241-23456", "abc", ""):
        with pytest.raises(Exception):  # noqa: B017, PT011
            normalise_org_number(wrong)


def test_the_buyer_downloads_the_receipt_from_the_order_page(paid):
    path = f"/pay/return/{make_return_value(paid)}/"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    html = client.get(path).content.decode()
    receipt = Receipt.objects.get(order=paid)
    assert f"Receipt {receipt.code} (PDF)" in html
    response = client.get(f"{path}receipts/{receipt.code}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert receipt.code in text
    assert client.get(f"{path}receipts/K1999-00001.pdf").status_code == 404


def test_the_ticket_email_carries_the_receipt(paid):
    receipt = Receipt.objects.get(order=paid)
    message = build_ticket_email(order=paid, language="sv")
    names = [name for name, _content, _type in message.attachments]
    assert f"kvitto-{receipt.code}.pdf" in names
    without = build_ticket_email(order=paid, language="sv", receipt=False)
    assert not any(n.startswith("kvitto-") for n, _c, _t in without.attachments)


def test_the_buyer_asks_for_an_invoice_and_the_treasurer_sends_it(paid, treasurer):
    path = f"/pay/return/{make_return_value(paid)}/invoice/"
    buyer = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert buyer.get(path).status_code == 200
    bad = buyer.post(
        path, {"name": "Firma AB", "address": "Gatan 1", "org_number": "802412-3451"}
    )
    assert bad.status_code == 400
    assert not InvoiceRequest.objects.exists()
    done = buyer.post(
        path,
        {
            "name": "Firma AB",
            "address": "Gatan 1\n111 11 Stad",
            "org_number": "8024123450",
        },
    )
    assert done.status_code == 200
    invoice = InvoiceRequest.objects.get()
    assert invoice.status == InvoiceStatus.REQUESTED
    assert invoice.org_number == "802412-3450"
    again = buyer.post(path, {"name": "Firma AB", "address": "Gatan 1"})
    assert again.status_code == 409
    assert InvoiceRequest.objects.count() == 1

    listing = treasurer.get("/admin/books/invoicerequest/")
    assert "Firma AB" in listing.content.decode()
    page = f"/admin/books/invoicerequest/{invoice.pk}/change/"
    assert treasurer.get(page).status_code == 200
    response = treasurer.post(page, {"outcome": "sent", "note": "Faktura 17"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT
    assert invoice.note == "Faktura 17"
    assert AuditEntry.objects.filter(action="invoice", order=paid).count() == 1
    assert list(
        StateChange.objects.filter(machine="invoice_request")
        .values_list("transition", flat=True)
        .order_by("pk")
    ) == ["request", "mark_sent"]
    assert treasurer.post(page, {"outcome": "declined"}).status_code == 409


def test_the_treasurer_confirms_the_settings_with_an_audit_entry(treasurer):
    page = "/admin/books/organiser/"
    assert treasurer.get(page).status_code == 200
    form = {
        "legal_name": "Teaterföreningen Scenen",
        "org_number": "802412-3450",
        "address": "Storgatan 1",
        "vat_status": "REGISTERED",
        "vat_number": "SE802412345001",
        "receipt_prefix": "TS",
        **{
            name: value
            for name, value in {
                "account_bank": "1930",
                "account_swish": "1930",
                "account_cash": "1910",
                "account_sales_25": "3001",
                "account_sales_12": "3002",
                "account_sales_6": "3003",
                "account_sales_0": "3004",
                "account_vat_25": "2611",
                "account_vat_12": "2621",
                "account_vat_6": "2631",
                "account_refunds": "",
            }.items()
        },
    }
    wrong = treasurer.post(page, {**form, "vat_number": "SE556677889901"})
    assert wrong.status_code == 400
    assert (
        treasurer.post(page, {**form, "org_number": "802412-3451"}).status_code == 400
    )
    assert treasurer.post(page, {**form, "account_bank": "19"}).status_code == 400
    assert treasurer.post(page, {**form, "confirm": "on"}).status_code == 302
    organiser = Organiser.objects.get()
    assert organiser.confirmed_by == "kassor"
    assert organiser.receipt_prefix == "TS"
    assert AuditEntry.objects.filter(action="books_settings").count() == 1
    # A change without confirming clears the confirmation.
    assert treasurer.post(page, {**form, "account_bank": "1940"}).status_code == 302
    organiser.refresh_from_db()
    assert organiser.confirmed_at is None
    assert AuditEntry.objects.filter(action="books_settings").count() == 2


def test_the_back_office_serves_a_receipt_pdf(paid, treasurer):
    receipt = Receipt.objects.get(order=paid)
    listing = treasurer.get("/admin/books/receipt/")
    assert receipt.code in listing.content.decode()
    response = treasurer.get(f"/admin/books/receipt/{receipt.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_a_buyer_cannot_ask_for_an_invoice_of_an_unpaid_order(db):
    from ticketshop.books.errors import InvoiceNotPossible
    from ticketshop.books.invoices import request_invoice
    from ticketshop.orders.services import TicketLine, reserve_tickets

    event, (standard, _) = event_with_types()
    order = reserve_tickets(
        event_id=event.pk, lines=[TicketLine(ticket_type_id=standard.pk, count=1)]
    )
    with pytest.raises(InvoiceNotPossible):
        request_invoice(order_id=order.pk, name="A", address="B")
