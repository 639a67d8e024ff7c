"""Back from the Swish app in a browser without the shop's cookie: the
callbackurl is the order's signed return link, which shows the order's
state (and, once paid, its tickets) and refreshes itself while it waits."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, fill_order, make_event, shop_e2e
from ticketshop.orders.models import Order, OrderStatus

pytestmark = shop_e2e


@pytest.fixture
def device():
    """The Swish app hands the link back on a phone: phone width only."""
    return "phone"


def fresh_phone(e2e_browser, base_url, locale="sv-SE"):
    """A new browser context (no cookies at all), as the phone's other browser."""
    context = e2e_browser.new_context(
        base_url=base_url,
        locale=locale,
        timezone_id="Europe/Stockholm",
        **DEVICES["phone"],
    )
    context.set_default_timeout(20_000)
    return context


def start_payment(page, event):
    """Reserve and open the pay page; return the Swish token and callbackurl."""
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 2})
    page.get_by_role("button", name="Reservera biljetter").click()
    page.get_by_role("button", name="Betala med Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))
    link = page.get_by_role("link", name="Öppna Swish", exact=True)
    expect(link).to_be_visible()
    query = parse_qs(urlparse(link.get_attribute("href")).query)
    return query["token"][0], query["callbackurl"][0]


def test_return_link_in_a_browser_without_cookies_follows_the_payment(
    shop_page, e2e_browser, shop_server, snap
):
    event, _ = make_event(title="Fysikalen", types=(("Standardbiljett", "199"),))
    token, back = start_payment(shop_page, event)
    assert re.fullmatch(rf"{re.escape(shop_server.url)}/pay/return/[^/]+/", back)
    snap(shop_page, "pay-page")

    context = fresh_phone(e2e_browser, shop_server.url)
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        assert context.cookies() == []
        page.goto(back)
        expect(
            page.get_by_role("heading", name="Väntar på betalningen")
        ).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("Väntar på betalningen")
        snap(page, "return-pending")

        # The payer approves in the (simulated) Swish app, from the first
        # browser context; the page opened without a cookie moves on by itself.
        with shop_page.context.expect_page() as opened:
            shop_page.get_by_role("link", name="Öppna Swish-simulatorn").click()
        swish = opened.value
        assert token in swish.url
        swish.get_by_role("button", name="Approve").click()
        expect(swish.get_by_test_id("status")).not_to_have_text("CREATED")
        swish.close()
        heading = page.get_by_role("heading", name="Tack! Dina biljetter är betalda.")
        expect(heading).to_be_visible(timeout=30_000)
        order = Order.objects.get()
        assert order.status == OrderStatus.PAID
        expect(page.locator("#return-reference")).to_have_text(order.payment_reference)
        ids = list(order.tickets.order_by("id").values_list("external_id", flat=True))
        expect(page.locator(".ticket-id")).to_have_text(ids)
        page.wait_for_function(
            "[...document.querySelectorAll('img.ticket-qr')]"
            ".every((img) => img.complete && img.naturalWidth > 0)"
        )
        # Only the order's status, reference and tickets: no e-mail address.
        assert "kalle@example.com" not in page.content()
        # It fits a phone's width: nothing scrolls sideways.
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        )
        snap(page, "return-paid")
    finally:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.mark.parametrize(
    ("locale", "heading"),
    [("sv-SE", "Länken fungerar inte"), ("en-GB", "This link does not work")],
)
def test_tampered_return_link_says_so_in_the_readers_language(
    shop_page, e2e_browser, shop_server, snap, locale, heading
):
    event, _ = make_event(title="Fysikalen", types=(("Standardbiljett", "199"),))
    _, back = start_payment(shop_page, event)
    context = fresh_phone(e2e_browser, shop_server.url, locale=locale)
    try:
        page = context.new_page()
        response = page.goto(back[:-3] + "xx/")
        assert response.status == 400
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        snap(page, f"return-tampered-{locale}")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["sv-SE", "en-GB"])
def test_return_pages_have_no_serious_accessibility_violations(
    shop_page, e2e_browser, shop_server, locale
):
    require_axe()
    event, _ = make_event(title="Fysikalen", types=(("Standardbiljett", "199"),))
    token, back = start_payment(shop_page, event)
    context = fresh_phone(e2e_browser, shop_server.url, locale=locale)
    try:
        page = context.new_page()

        def clean():
            page.wait_for_load_state("networkidle")
            found = serious_violations(page)
            assert found == [], "\n".join(found)

        page.goto(back)
        expect(page.locator("#return-poll-status")).to_be_visible()
        clean()
        requests.post(
            f"{shop_server.url}/swish-simulator/pay/{token}/",
            data={"action": "approve"},
            timeout=30,
        )
        expect(page.locator("img.ticket-qr")).to_have_count(2, timeout=30_000)
        clean()
        page.goto(back[:-3] + "xx/")
        clean()
    finally:
        context.close()
