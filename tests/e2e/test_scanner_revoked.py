"""The door refuses revoked tickets in words, never lets a used code in by
itself, and keeps scanning offline when the server refuses.

Tickets are revoked as the back office does it (orders.lifecycle): one
ticket cancelled alone with a Swish refund, an order exchanged to another
night. Each is scanned online and offline, in Swedish and English: the
volunteer reads "Återbetald biljett" / "Refunded ticket" and "Bytt till en
annan kväll: …" / "Exchanged to another night: …", never "Inte betald" nor
a raw status code such as FAILED_ADMIN.
"""

import re
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import ChapterEventFactory, TicketOfferFactory, TicketTypeFactory
from tests.scanning.factories import (
    OrderFactory,
    ScannerAccountFactory,
    TicketFactory,
    paid_ticket,
)
from ticketshop.orders import lifecycle
from ticketshop.orders.models import PaymentMethod
from ticketshop.orders.signing import sign_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "door-revoked-password"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Some years ahead of whenever the suite runs (a fixed year would put the
# events in the past one day, and off the door list).
FUTURE_YEAR = datetime.now(STOCKHOLM).year + 4
# Screenshots to look at (phone width); never in the repository.
SHOTS = Path(tempfile.gettempdir()) / "shots-door"

WORDS = {
    "sv": {
        "start": "Börja skanna",
        "refunded": "Återbetald biljett",
        "exchanged": "Bytt till en annan kväll: ",
        "valid": "Giltig, inte använd än",
        "used_once": "Redan använd en gång",
        "offline": "skannar offline",
    },
    "en": {
        "start": "Start scanning",
        "refunded": "Refunded ticket",
        "exchanged": "Exchanged to another night: ",
        "valid": "Valid, not yet used",
        "used_once": "Already used once",
        "offline": "scanning offline",
    },
}
NIGHT = {"sv": "Fredagskväll", "en": "Friday night"}


@pytest.fixture
def door(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TIME_ZONE = "Europe/Stockholm"
    ScannerAccountFactory(name="Entrance", password=make_password(PASSWORD))
    return live_server.url


@pytest.fixture
def browser_in(e2e_browser):
    """open(locale) -> a phone-sized page that records console errors."""
    contexts = []

    def open_page(locale: str):
        context = e2e_browser.new_context(
            viewport={"width": 390, "height": 844}, locale=locale
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def revoked_tickets():
    """A refunded ticket and an exchanged one (both of paid orders)."""
    show = ChapterEventFactory(
        title="Torsdagskväll",
        title_en="Thursday night",
        event_at=datetime(FUTURE_YEAR, 3, 13, 19, 0, tzinfo=STOCKHOLM),
    )
    swish = OrderFactory(
        event=show, payment_method=PaymentMethod.SWISH, total_price=Decimal("398")
    )
    kept, refunded = TicketFactory(order=swish), TicketFactory(order=swish)
    with transaction.atomic():
        lifecycle.cancel_tickets(swish, ticket_ids=[refunded.pk], now=timezone.now())

    cash = OrderFactory(event=show, payment_method=PaymentMethod.CASH)
    exchanged = TicketFactory(order=cash)
    night = ChapterEventFactory(
        title=NIGHT["sv"],
        title_en=NIGHT["en"],
        event_at=datetime(FUTURE_YEAR, 3, 14, 19, 0, tzinfo=STOCKHOLM),
    )
    new_type = TicketTypeFactory()
    TicketOfferFactory(event=night, ticket_type=new_type)
    with transaction.atomic():
        lifecycle.exchange(
            cash,
            event_id=night.pk,
            type_map={exchanged.ticket_type_id: new_type.pk},
            prices={new_type.pk: Decimal("199")},
            now=timezone.now(),
        )
    return kept, refunded, exchanged


def payload(ticket):
    return sign_ticket(external_id=ticket.external_id, event_id=ticket.event_id)


def log_in(page, url, language):
    page.goto(f"{url}/scan/")
    page.fill("#password", PASSWORD)
    page.click(f"text={WORDS[language]['start']}")
    expect(page.locator("#scanner")).to_be_visible()
    # The door list is on the device.
    expect(page.locator("#door-status")).to_have_attribute(
        "data-list-at", re.compile(r"\d{4}-")
    )


def scan(page, text):
    page.fill("#ticket-id", text)
    page.press("#ticket-id", "Enter")
    result = page.locator("#result")
    expect(result).to_be_visible()
    return result


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_refunded_and_exchanged_tickets_are_refused_in_words(
    door, browser_in, language, offline
):
    kept, refunded, exchanged = revoked_tickets()
    words = WORDS[language]
    page = browser_in("sv-SE" if language == "sv" else "en-GB")
    log_in(page, door, language)
    page.check("#auto-admit")
    if offline:
        page.context.set_offline(True)

    result = scan(page, payload(refunded))
    expect(result).to_have_attribute("data-kind", "red")
    expect(result).to_have_attribute("data-offline", "1" if offline else "0")
    expect(page.locator("#result-title")).to_have_text(words["refunded"])
    expect(page.locator("#admit")).to_be_hidden()
    shot(page, f"refunded-{language}-{'offline' if offline else 'online'}")
    page.click("#next")
    # Offline, the banner says so in the volunteer's language.
    expect(page.locator("#fallback")).to_be_visible(visible=offline)
    if offline:
        expect(page.locator("#fallback")).to_contain_text(words["offline"])

    scan(page, payload(exchanged))
    title = page.locator("#result-title")
    expect(title).to_contain_text(words["exchanged"] + NIGHT[language])
    expect(title).to_contain_text("19:00")
    expect(page.locator("#admit")).to_be_hidden()
    assert "FAILED" not in page.locator("body").inner_text()
    shot(page, f"exchanged-{language}-{'offline' if offline else 'online'}")
    page.click("#next")

    # The ticket left in the refunded order still opens the door.
    result = scan(page, payload(kept))
    expect(result).to_have_attribute("data-kind", "green")
    page.click("#next")

    for ticket in (refunded, exchanged):
        ticket.refresh_from_db()
        assert ticket.times_used == 0
    if offline:
        page.context.set_offline(False)
        page.evaluate("window.ticketScanner.sync()")
        expect(page.locator("#door-status")).to_have_attribute("data-queued", "0")
        # The refused scans were not admissions: no conflict to report.
        expect(page.locator("#conflicts")).to_be_hidden()
        for ticket in (refunded, exchanged):
            ticket.refresh_from_db()
            assert ticket.times_used == 0
    assert page.errors == []


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_auto_admit_shows_amber_for_a_used_ticket_and_waits(door, browser_in, offline):
    ticket = paid_ticket()
    page = browser_in("sv-SE")
    log_in(page, door, "sv")
    page.check("#auto-admit")
    if offline:
        page.context.set_offline(True)

    result = scan(page, payload(ticket))
    expect(result).to_have_attribute("data-kind", "green")
    page.click("#next")

    result = scan(page, payload(ticket))
    expect(result).to_have_attribute("data-kind", "amber")
    expect(page.locator("#result-title")).to_have_text(WORDS["sv"]["used_once"])
    expect(page.locator("#admit")).to_be_visible()
    shot(page, f"auto-admit-used-{'offline' if offline else 'online'}")
    if not offline:
        ticket.refresh_from_db()
        assert ticket.times_used == 1

    # The volunteer chooses to let the guest in again.
    page.click("#admit")
    expect(page.locator("#admit")).to_be_hidden()
    page.click("#next")
    if offline:
        page.context.set_offline(False)
        page.evaluate("window.ticketScanner.sync()")
        expect(page.locator("#door-status")).to_have_attribute("data-queued", "0")
    ticket.refresh_from_db()
    assert ticket.times_used == 2
    assert page.errors == []


def test_unknown_scan_prints_no_console_error(door, browser_in):
    page = browser_in("en-GB")
    log_in(page, door, "en")
    result = scan(page, "NOSUCH")
    expect(result).to_have_attribute("data-kind", "red")
    expect(page.locator("#result-title")).to_have_text("Unknown ticket")
    assert page.errors == []


@pytest.mark.parametrize("status", [401, 429, 503])
def test_login_refused_by_the_server_falls_back_to_offline(door, browser_in, status):
    ticket = paid_ticket()
    page = browser_in("sv-SE")
    log_in(page, door, "sv")
    page.reload()
    # The server now refuses every request of the scanner page.
    page.route(
        re.compile(
            r".*/(scan/login|scan/door|scan/sync|scan/check|validate_ticket)/?$"
        ),
        lambda route: route.fulfill(
            status=status, body='"TooManyAttempts"', content_type="application/json"
        ),
    )
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#password", PASSWORD)
    page.click("text=Börja skanna")

    expect(page.locator("#scanner")).to_be_visible()
    banner = page.locator("#fallback")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(WORDS["sv"]["offline"])
    shot(page, f"fallback-login-{status}")
    result = scan(page, payload(ticket))
    expect(result).to_have_attribute("data-offline", "1")
    expect(page.locator("#result-title")).to_have_text(WORDS["sv"]["valid"])
    expect(page.locator("#login-error")).to_be_hidden()


def test_login_without_a_list_says_it_cannot_scan_offline(door, browser_in):
    page = browser_in("en-GB")
    page.route(
        re.compile(r".*/scan/login/?$"),
        lambda route: route.fulfill(status=429, body='"TooManyAttempts"'),
    )
    page.goto(f"{door}/scan/")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")

    error = page.locator("#login-error")
    expect(error).to_contain_text("no ticket list")
    expect(page.locator("#scanner")).to_be_hidden()
    shot(page, "fallback-no-list-en")


def test_scans_refused_by_the_server_go_offline_with_a_banner(door, browser_in):
    ticket = paid_ticket()
    page = browser_in("en-GB")
    log_in(page, door, "en")
    page.route(
        re.compile(r".*/(validate_ticket|scan/check)/?$"),
        lambda route: route.fulfill(status=401, body='"Incorrect password"'),
    )

    result = scan(page, payload(ticket))

    expect(result).to_have_attribute("data-offline", "1")
    page.click("#next")
    # Still scanning, not logged out; the banner says why.
    expect(page.locator("#scanner")).to_be_visible()
    expect(page.locator("#fallback")).to_contain_text("no longer accepts this password")
    shot(page, "fallback-scan-401-en")
    page.unroute(re.compile(r".*/(validate_ticket|scan/check)/?$"))
    scan(page, ticket.external_id)
    expect(page.locator("#fallback")).to_be_hidden()


def test_change_password_does_not_log_out(door, browser_in):
    ticket = paid_ticket()
    page = browser_in("sv-SE")
    log_in(page, door, "sv")

    page.click("text=Ändra lösenord")
    expect(page.locator("#login")).to_be_visible()
    back = page.locator("#cancel-change")
    expect(back).to_have_text("Tillbaka till skanningen")
    shot(page, "change-password-sv")
    back.click()
    expect(page.locator("#scanner")).to_be_visible()
    page.reload()
    expect(page.locator("#scanner")).to_be_visible()
    result = scan(page, ticket.external_id)
    expect(result).to_have_attribute("data-offline", "0")
    expect(page.locator("#result-title")).to_have_text(WORDS["sv"]["valid"])

    # A wrong new password keeps the old one working.
    page.click("#next")
    page.click("text=Ändra lösenord")
    page.fill("#password", "not-the-password")
    page.click("text=Börja skanna")
    expect(page.locator("#login-error")).to_have_text("Fel lösenord")
    back.click()
    expect(page.locator("#scanner")).to_be_visible()
    # Only the wrong password's own 401, which the browser reports itself.
    assert [e for e in page.errors if "401" not in e] == []


def test_english_scanner_shows_english_titles(door, browser_in):
    event = ChapterEventFactory(
        title="Vårkonsert",
        title_en="Spring concert",
        event_at=timezone.now() + timedelta(days=3),
    )
    ticket = TicketFactory(
        event=event,
        ticket_type=TicketTypeFactory(title="Ordinarie", title_en="Standard"),
    )
    page = browser_in("en-GB")
    log_in(page, door, "en")
    scan(page, ticket.external_id)
    detail = page.locator("#result-detail")
    expect(detail).to_contain_text("Spring concert")
    expect(detail).to_contain_text("Standard")
    page.click("#next")
    page.context.set_offline(True)
    scan(page, payload(ticket))
    expect(page.locator("#result")).to_have_attribute("data-offline", "1")
    expect(detail).to_contain_text("Spring concert")
    expect(detail).to_contain_text("Standard")
    expect(detail).not_to_contain_text("Vårkonsert")
    shot(page, "english-titles-offline")


def test_language_switch_returns_to_the_page_without_console_errors(door, browser_in):
    page = browser_in("en-GB")
    page.goto(f"{door}/scan/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    page.click("button[lang=sv]")

    expect(page.locator("h1").first).to_have_text("Biljettskanner")
    # /scan/ itself, inside the service worker's scope (not /scan).
    assert page.url == f"{door}/scan/"
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert page.errors == []
