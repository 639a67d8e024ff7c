"""A purchase in English: English pages, titles and e-mail; no console errors.

Also the shop's own 404 page, and the ticket e-mail on a 360 px wide screen.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.delivery.conftest import run_worker
from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, make_event, shop_e2e
from ticketshop.orders.models import Order, OrderStatus

pytestmark = shop_e2e


@pytest.fixture
def english_page(e2e_browser, shop_server, device):
    """A page of a browser that asks for English, in Los Angeles time."""
    context = e2e_browser.new_context(
        base_url=shop_server.url,
        locale="en-GB",
        timezone_id="America/Los_Angeles",
        **DEVICES[device],
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and page.console_errors.append(f"{page.url}: {message.text}")
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def english_event():
    event, (standard, student) = make_event(
        title="Vårbalen",
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    event.title_en, event.description_en = "Spring Ball", "A night to remember."
    event.save()
    standard.title_en = "Standard ticket"
    standard.save()
    return event, standard, student


def test_purchase_in_english_gives_an_english_email(english_page, snap):
    page = english_page
    event, _standard, student = english_event()

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Spring Ball").click()
    expect(page.get_by_role("heading", name="Spring Ball")).to_be_visible()
    expect(page.get_by_text("A night to remember.")).to_be_visible()
    page.get_by_role("button", name="One more Standard ticket").click()
    page.get_by_role("button", name=f"One more {student.title}").click()
    page.get_by_label("E-mail address", exact=True).fill("alex@example.com")
    page.get_by_label("E-mail address again").fill("alex@example.com")
    page.get_by_label("I accept the terms of purchase").check()
    snap(page, "order-filled")
    page.get_by_role("button", name="Reserve tickets").click()
    page.get_by_role("button", name="Pay with Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open the Swish simulator").click()
    swish = opened.value
    swish.get_by_role("button", name="Approve").click()
    expect(swish.get_by_test_id("status")).not_to_have_text("CREATED")
    swish.close()
    expect(page).to_have_url(re.compile(r"/confirmation/$"))
    expect(page.locator("#confirm-event")).to_have_text("Spring Ball")
    snap(page, "confirmation")

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.language == "en"
    run_worker()
    (message,) = mail.outbox
    assert "Spring Ball" in message.subject
    html = message.alternatives[0][0]
    assert '<html lang="en">' in html
    assert "Receipt" in html
    assert "Standard ticket" in html
    assert page.console_errors == []


def test_wrong_address_shows_the_shops_404_page(english_page, snap):
    page = english_page

    response = page.goto("/no/such/page/")

    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".site-header")).to_be_visible()
    page.get_by_role("link", name="See the events on sale").click()
    expect(page).to_have_url(re.compile(r"/$"))
    snap(page, "404")


def test_buyer_pages_log_no_console_errors(english_page):
    page = english_page
    event, _standard, _student = english_event()

    for path in ("/", f"/events/{event.id}/", "/terms/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")

    assert page.console_errors == []


# The width of a phone is what is checked: run as the phone only (not
# collected as the desktop, rather than skipped there).
@pytest.mark.parametrize("device", ["phone"])
def test_ticket_email_fits_a_360_px_screen(english_page, device):
    from ticketshop.delivery.emails import build_ticket_email

    event, standard, student = english_event()
    order = _paid_order(event, standard, student)
    html = build_ticket_email(order=order, language="en").alternatives[0][0]
    page = english_page
    page.set_viewport_size({"width": 360, "height": 740})

    page.set_content(html)

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the e-mail is {width} px wide"


def _paid_order(event, *types):
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.utils import timezone

    from tests.factories import reserve_tickets
    from ticketshop.orders.services import TicketLine

    order = reserve_tickets(
        session=SessionStore(),
        event_id=event.id,
        lines=[TicketLine(ticket_type_id=t.id, count=2) for t in types],
    )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        email="a-rather-long-address-of-a-buyer@student.example.com",
        payment_reference="0123456789ABCDEF0123456789ABCDEF",
    )
    order.refresh_from_db()
    return order
