"""axe-core finds no serious or critical violation on the shop's pages, the
scanner page and the back office; and the fixes axe cannot see, by hand."""

import re

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import DEVICES, make_event, shop_e2e
from tests.payments.conftest import swish_reads_worker
from tests.scanning.factories import ScannerAccountFactory, paid_ticket
from ticketshop.orders.models import Order

pytestmark = shop_e2e

SCANNER = "door-password-axe"


@pytest.fixture
def server(live_server, settings):
    require_axe()
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SWISH_API_URL = ""
    settings.SWISH_CALLBACK_URL = ""
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = None
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A worker reads the payment when its callback comes (payments/reads.py).
    with swish_reads_worker():
        yield live_server


@pytest.fixture(params=["sv-SE", "en-GB"])
def page(request, e2e_browser, server):
    context = e2e_browser.new_context(
        base_url=server.url, locale=request.param, **DEVICES["phone"]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def clean(page):
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    assert found == [], "\n".join(found)


def an_event():
    event, (standard, student) = make_event(
        title="Vårbalen",
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    standard.title_en = "Standard ticket"
    standard.save()
    return event, standard, student


def buy(page, event, ticket_type):
    """Reserve and start a payment with the page's own cookies; return the token."""
    reserved = page.request.post(
        "/reserve_ticket/",
        data={
            "chapter_event": str(event.id),
            "tickets": [{"ticket_type": str(ticket_type.id), "count": 2}],
        },
    )
    assert reserved.status == 201
    started = page.request.post(
        "/start_payment/", data={"email_address": "axe@example.com"}
    )
    assert started.status == 200
    return started.json()


def test_buyer_pages_have_no_serious_violations(page):
    event, standard, _student = an_event()
    for path in ("/", f"/events/{event.id}/", "/terms/", "/no/such/page/"):
        page.goto(path)
        clean(page)

    page.goto(f"/events/{event.id}/")
    page.locator("#reserve-button").click()  # nothing chosen: errors shown
    expect(page.locator("#lines-error")).to_be_visible()
    clean(page)

    token = buy(page, event, standard)
    page.goto("/pay/")
    expect(page.locator("#pay-waiting")).to_be_visible()
    clean(page)

    page.goto(f"/swish-simulator/pay/{token}/")
    clean(page)
    page.get_by_role("button", name="Approve").click()
    # Swish's answer reaches the order through its callback and the read
    # the worker makes of it: the confirmation shows tickets once it has.
    _until_paid()
    page.goto("/confirmation/")
    expect(page.locator("img.ticket-qr")).to_have_count(2)
    clean(page)


def test_scanner_page_has_no_serious_violations(page):
    ScannerAccountFactory(name="Door", password=make_password(SCANNER))
    ticket = paid_ticket()
    page.goto("/scan/")
    clean(page)
    page.fill("#password", "wrong")
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#login-error")).to_be_visible()
    clean(page)

    page.fill("#password", SCANNER)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#scanner")).to_be_visible()
    expect(page.locator("#door-status")).to_have_attribute(
        "data-list-at", re.compile(r"\d")
    )
    clean(page)
    page.fill("#ticket-id", ticket.external_id)
    page.press("#ticket-id", "Enter")
    expect(page.locator("#result")).to_be_visible()
    clean(page)


def test_back_office_pages_have_no_serious_violations(page, admin_user):
    an_event()
    page.goto("/admin/login/")
    clean(page)
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.locator("input[type=submit]").click()
    # Signed in: every page below is the page itself, not the login form.
    expect(page.locator("#user-tools")).to_be_visible()
    for path in (
        "/admin/",
        "/admin/orders/order/",
        "/admin/events/chapterevent/",
        "/admin/events/chapterevent/add/",
        "/admin/events/tickettype/add/",
        "/admin/scanning/scanlog/",
        "/swish-simulator/",
    ):
        page.goto(path)
        assert "/login/" not in page.url, path
        clean(page)


# --- what axe cannot judge, checked by hand -------------------------------


def test_steppers_keep_focus_at_their_limits(page):
    event, standard, _ = an_event()
    event.max_tickets_per_payment = 2
    event.save()
    page.goto(f"/events/{event.id}/")
    more = page.locator(".line").first.locator(".step").last
    more.focus()

    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")

    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#max-note")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#max-note")).to_contain_text("2")
    fewer = page.locator(".line").first.locator(".step").first
    fewer.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(fewer).to_be_focused()


def test_event_form_states_are_announced_right(page):
    event, standard, _ = an_event()
    page.goto(f"/events/{event.id}/")
    expect(page.locator("#event-title")).to_be_visible()

    # Not invalid before anyone touched it.
    terms = page.locator("#terms")
    assert not terms.evaluate("node => node.matches(':invalid')")
    assert terms.get_attribute("aria-invalid") in (None, "false")
    # The live total says what the amount is, not a bare "398 kr".
    region = page.locator(".total-row[aria-live]")
    expect(region).to_contain_text(re.compile("Total|Summa"))
    expect(region).to_have_attribute("aria-atomic", "true")
    assert page.locator("#total").get_attribute("aria-live") is None

    page.locator("#reserve-button").click()
    for field in page.locator(".line input").all():
        expect(field).to_have_attribute("aria-invalid", "true")


def test_swedish_names_are_marked_on_english_pages(page):
    event, standard, student = an_event()
    page.goto(f"/events/{event.id}/")
    expect(page.locator("#event-title")).to_be_visible()
    english = page.locator("html").get_attribute("lang") == "en"

    titles = page.locator(".line-title")
    expect(titles).to_have_count(2)
    student_title = page.locator(".line-title", has_text=student.title)
    if english:
        expect(student_title).to_have_attribute("lang", "sv")
        expect(
            page.locator(".line-title", has_text="Standard ticket")
        ).not_to_have_attribute("lang", "sv")
        expect(page.locator("#event-title")).to_have_attribute("lang", "sv")
    else:
        expect(student_title).not_to_have_attribute("lang", "sv")


def test_pay_page_moves_focus_to_its_heading(page):
    event, standard, _ = an_event()
    buy(page, event, standard)

    page.goto("/pay/")

    expect(page.locator("#pay-waiting")).to_be_visible()
    expect(page.locator("#pay-title")).to_be_focused()
    assert Order.objects.get().payment_pending


def _until_paid(seconds: float = 60) -> None:
    """Wait (not a timed assertion: a bound on waiting) until the order is
    PAID, as the pay page's own polling would."""
    import time

    from ticketshop.orders.models import OrderStatus

    deadline = time.monotonic() + seconds
    while not Order.objects.filter(status=OrderStatus.PAID).exists():
        assert time.monotonic() < deadline, "the payment never became PAID"
        time.sleep(0.1)
