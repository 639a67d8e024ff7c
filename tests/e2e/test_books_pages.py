"""The books' pages in a real browser at phone width, Swedish and English,
checked with axe: the treasurer's bookkeeping settings (a wrong
organisation number refused, then confirmed), the buyer's order page
with its receipt and the invoice request form, the SIE export page and the
Swish settlement."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.books.helpers import paid_order
from tests.e2e.axe import serious_violations
from tests.e2e.test_backoffice_forms import no_sideways_scroll
from tests.e2e.test_backoffice_previews import open_page, organiser, show  # noqa: F401
from ticketshop.books.models import InvoiceRequest, Organiser, Receipt
from ticketshop.shop.return_links import make_return_value

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "sv": {
        "luhn": "kontrollsiffra",
        "saved": "sparade",
        "confirmed": "Bekräftad av kassor",
        "receipt": "Kvitto",
        "ask": "Begär en",
        "thanks": "Tack.",
    },
    "en": {
        "luhn": "check digit",
        "saved": "saved",
        "confirmed": "Confirmed by kassor",
        "receipt": "Receipt",
        "ask": "Ask for one",
        "thanks": "Thank you.",
    },
}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_treasurer_confirms_the_settings_at_phone_width(
    open_page,  # noqa: F811
    organiser,  # noqa: F811
    live_server,
    screenshot,
    lang,
):
    words = WORDS[lang]
    page = open_page(lang, "phone")
    page.goto(f"{live_server.url}/admin/books/organiser/")
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    page.fill("#id_legal_name", "Teaterföreningen Scenen")
    page.fill("#id_org_number", "802412-3451")
    page.click("#books-save")
    expect(page.locator("#id_org_number-error")).to_contain_text(words["luhn"])
    assert serious_violations(page) == []
    screenshot(page, f"settings-error-{lang}")
    page.fill("#id_org_number", "802412-3450")
    page.check("#id_confirm")
    page.click("#books-save")
    expect(page.locator(".messagelist")).to_contain_text(words["saved"])
    expect(page.locator("#books-confirmed")).to_contain_text(words["confirmed"])
    no_sideways_scroll(page)
    screenshot(page, f"settings-confirmed-{lang}")
    assert Organiser.objects.get().org_number == "802412-3450"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_buyer_finds_the_receipt_and_asks_for_an_invoice(
    open_page,  # noqa: F811
    show,  # noqa: F811
    live_server,
    screenshot,
    lang,
):
    words = WORDS[lang]
    event, (standard, _) = show
    order = paid_order(event, {standard: 2}, language=lang)
    receipt = Receipt.objects.get(order=order)
    page = open_page(lang, "phone")
    page.goto(f"{live_server.url}/pay/return/{make_return_value(order)}/")
    link = page.get_by_role("link", name=f"{words['receipt']} {receipt.code} (PDF)")
    expect(link).to_be_visible()
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    page.get_by_role("link", name=words["ask"], exact=False).click()
    # The invoice form's page, loaded (axe on a page still navigating finds
    # no document to run in).
    expect(page.locator("#id_name")).to_be_visible()
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    page.fill("#id_name", "Firma AB")
    page.fill("#id_address", "Storgatan 1\n111 11 Stockholm")
    page.fill("#id_org_number", "8024123450")
    page.click(".invoice-request button[type=submit]")
    expect(page.locator("[role=status]")).to_contain_text(words["thanks"])
    assert serious_violations(page) == []
    screenshot(page, f"invoice-requested-{lang}")
    assert InvoiceRequest.objects.get().order == order


CLOSING = {
    "sv": {
        "end": "Slutet ligger före början",
        "vouchers": "1 verifikation",
        "differences": "1 avvikelse",
        "no_payment": "betald order utan Swishbetalning",
    },
    "en": {
        "end": "The end is before the start",
        "vouchers": "1 voucher",
        "differences": "1 difference",
        "no_payment": "paid order without a Swish payment",
    },
}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_treasurer_closes_a_night_at_phone_width(
    open_page,  # noqa: F811
    show,  # noqa: F811
    live_server,
    screenshot,
    lang,
):
    """The SIE page (a range the wrong way round refused, then the
    vouchers shown) and the Swish settlement with its difference."""
    from django.utils import timezone

    words = CLOSING[lang]
    event, (standard, _) = show
    order = paid_order(event, {standard: 2}, language=lang)
    receipt = Receipt.objects.get(order=order)
    today = timezone.localdate()
    page = open_page(lang, "phone")
    page.goto(f"{live_server.url}/admin/books/receipt/sie/")
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    page.fill("#id_from", today.isoformat())
    page.fill("#id_to", (today - timedelta(days=1)).isoformat())
    page.click("#sie-show")
    expect(page.locator("#books-range-error")).to_contain_text(words["end"])
    assert serious_violations(page) == []
    page.fill("#id_to", today.isoformat())
    page.check("input[name=by][value=night]")
    page.click("#sie-show")
    expect(page.locator("#sie-vouchers")).to_contain_text(words["vouchers"])
    expect(page.locator(".books-table caption").first).to_contain_text(receipt.code)
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    screenshot(page, f"sie-vouchers-{lang}")
    with page.expect_download() as download:
        page.click("#sie-download")
    assert download.value.suggested_filename.endswith("-night.si")

    page.goto(
        f"{live_server.url}/admin/books/receipt/swish-settlement/"
        f"?from={today}&to={today}"
    )
    section = page.locator(f"#settlement-{today.isoformat()}")
    expect(section).to_contain_text(words["differences"])
    expect(section).to_contain_text(words["no_payment"])
    expect(section).to_contain_text(order.reference)
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    screenshot(page, f"swish-settlement-{lang}")
