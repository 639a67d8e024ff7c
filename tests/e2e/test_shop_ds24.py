"""DS24 (Swish got no answer from the buyer's bank): the pay page and the
return page end on "check with your bank", in Swedish and English, at a
phone's width, with no serious accessibility violations."""

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, make_event, shop_e2e
from tests.e2e.test_shop_pay_return import start_payment
from tests.payments.conftest import swish_reads_worker
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment

pytestmark = shop_e2e

HEADINGS = {"sv-SE": "Kontrollera med din bank", "en-GB": "Check with your bank"}
TEXTS = {
    "sv-SE": "varken Swish eller butiken vet om pengarna drogs",
    "en-GB": "neither Swish nor the shop knows whether the money was drawn",
}


@pytest.fixture
def device():
    """The buyer pays from a phone: phone width only."""
    return "phone"


@pytest.fixture
def reads_worker(shop_server):
    """A task worker's thread that reads a payment when its callback comes
    (payments/reads.py), as run_worker does."""
    with swish_reads_worker() as worker:
        yield worker


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_ds24_ends_on_check_with_your_bank_in_both_languages(
    shop_page, e2e_browser, shop_server, reads_worker, snap, settings
):
    require_axe()
    settings.SWISH_SIMULATOR_ERROR_DELAY_SECONDS = 0.5
    event, _ = make_event(
        title="Fysikalen", types=(("Standardbiljett", "199"),), swish_message="DS24"
    )
    _, back = start_payment(shop_page, event)

    # The pay page stops waiting and says what to do, without "start again".
    expect(shop_page.get_by_role("heading", name=HEADINGS["sv-SE"])).to_be_visible(
        timeout=30_000
    )
    expect(shop_page.locator("#fail-reason")).to_contain_text(TEXTS["sv-SE"])
    expect(shop_page.locator("#restart-link")).to_be_hidden()
    assert SwishPayment.objects.get().error_code == "DS24"
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    assert fits_the_phone(shop_page)
    found = serious_violations(shop_page)
    assert found == [], "\n".join(found)
    snap(shop_page, "pay-ds24-sv")

    # The race CI met: the pay page reads the order (not flagged yet), the
    # flag comes, then the page starts the payment again (the event page
    # started it first). Replayed here by answering the page's first status
    # read as it was before the flag. The start answers the same token and
    # the page ends on "check with your bank", not "Swish could not be
    # reached".
    first_read = []

    def before_the_flag(route):
        response = route.fetch()
        body = response.json()
        if not first_read:
            first_read.append(body)
            body.update(payment_status="CREATED", payment_error=None)
        route.fulfill(response=response, json=body)

    shop_page.route("**/session_payment_status/", before_the_flag)
    with shop_page.expect_response("**/start_payment/") as started:
        shop_page.reload()
    assert started.value.status == 200, started.value.text()
    expect(shop_page.get_by_role("heading", name=HEADINGS["sv-SE"])).to_be_visible(
        timeout=30_000
    )
    expect(shop_page.locator("#fail-reason")).to_contain_text(TEXTS["sv-SE"])
    assert SwishPayment.objects.count() == 1

    errors = []
    for locale in ("en-GB", "sv-SE"):
        context = e2e_browser.new_context(
            base_url=shop_server.url,
            locale=locale,
            timezone_id="Europe/Stockholm",
            **DEVICES["phone"],
        )
        context.set_default_timeout(20_000)
        try:
            # The same buyer's pay page in this language (its session cookie).
            context.add_cookies(shop_page.context.cookies())
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))  # noqa: B023
            page.goto("/pay/")
            expect(page.get_by_role("heading", name=HEADINGS[locale])).to_be_visible()
            expect(page.locator("#fail-reason")).to_contain_text(TEXTS[locale])
            # The page the Swish app returns to: final, no waiting spinner.
            page.goto(back)
            expect(page.get_by_role("heading", name=HEADINGS[locale])).to_be_visible()
            expect(page.locator("#return-unknown")).to_contain_text(TEXTS[locale])
            expect(page.locator("#return-poll-status")).to_have_count(0)
            assert fits_the_phone(page)
            page.wait_for_load_state("networkidle")
            found = serious_violations(page)
            assert found == [], "\n".join(found)
            snap(page, f"return-ds24-{locale}")
        finally:
            context.close()
    assert errors == [], f"JavaScript errors: {errors}"
