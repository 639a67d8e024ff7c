"""Money due at the door at the scanner: the amount once per order, online
and offline, and cash recorded with one button (a double click collects
once)."""

import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.e2e.axe import serious_violations
from tests.factories import event_with_types
from tests.scanning.factories import ScannerAccountFactory
from ticketshop.backoffice import services
from ticketshop.orders.models import PaymentMethod
from ticketshop.payments.models import DoorPayment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "door-one-password"
# Screens to look at, outside the repository.
SHOTS = Path(tempfile.gettempdir()) / "shots-due"

WORDS = {
    "sv": {
        "login": "Börja skanna",
        "due": "Att betala i dörren: 100 kr",
        "cash": "Betalt kontant",
        "paid": "Betalt kontant: 100 kr",
        "offline": "Offline: ta emot pengarna",
    },
    "en": {
        "login": "Start scanning",
        "due": "To pay at the door: 100 kr",
        "cash": "Paid in cash",
        "paid": "Paid in cash: 100 kr",
        "offline": "Offline: take the money",
    },
}


@pytest.fixture
def owing(live_server, settings):
    """Two tickets of one order that owes 100 kr at the door."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ScannerAccountFactory(name="Door 1", password=make_password(PASSWORD))
    user = User.objects.create_user("org", "org@example.org", "pw", is_staff=True)
    event, (standard,) = event_with_types(seats=10, prices=("199",), title="Fredag")
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = services.issue_tickets(
        user=user,
        request=services.IssueRequest(
            event_id=event.pk,
            counts={standard.pk: 2},
            name="Åsa Öberg",
            email="asa@example.org",
            method=PaymentMethod.CASH,
            prices={standard.pk: Decimal("199")},
        ),
    )
    services.exchange_order(
        user=user, order_id=order.pk, event_id=later.pk, type_map={standard.pk: dear.pk}
    )
    ids = list(
        order.tickets.filter(cancelled_at__isnull=True)
        .order_by("pk")
        .values_list("external_id", flat=True)
    )
    return live_server.url, order, ids


def start(page, url, language):
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": url}]
    )
    page.goto(f"{url}/scan/")
    page.fill("#password", PASSWORD)
    page.click(f"text={WORDS[language]['login']}")
    expect(page.locator("#door-status")).to_have_attribute(
        "data-list-at", re.compile(r"\d{4}-")
    )


def scan(page, text):
    page.fill("#ticket-id", text)
    page.press("#ticket-id", "Enter")
    expect(page.locator("#result")).to_be_visible()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_scanner_asks_once_per_order_and_records_cash(owing, e2e_page, language):
    url, order, (first, second) = owing
    words = WORDS[language]
    page = e2e_page
    SHOTS.mkdir(exist_ok=True)
    start(page, url, language)
    scan(page, first)
    due = page.locator("#result-due")
    expect(due).to_be_visible()
    expect(page.locator("#due-title")).to_have_text(words["due"])
    expect(page.locator("#result")).to_have_class(re.compile(r"\bdue\b"))
    page.screenshot(path=str(SHOTS / f"scanner-due-{language}.png"))
    assert serious_violations(page) == []
    # A double click: both requests carry the screen's key.
    page.locator("#due-cash").dblclick()
    expect(page.locator("#due-title")).to_have_text(words["paid"])
    page.screenshot(path=str(SHOTS / f"scanner-paid-{language}.png"))
    assert DoorPayment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.due_at_door == 0
    page.click("#next")
    # The order's other ticket: plain green, nothing more to pay.
    scan(page, second)
    expect(page.locator("#result")).to_have_attribute("data-kind", "green")
    expect(due).to_be_hidden()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_offline_scanner_shows_the_amount_once_per_order(owing, e2e_page, language):
    url, order, (first, second) = owing
    words = WORDS[language]
    page = e2e_page
    SHOTS.mkdir(exist_ok=True)
    start(page, url, language)
    page.check("#auto-admit")
    page.context.set_offline(True)
    scan(page, first)
    expect(page.locator("#result")).to_have_attribute("data-offline", "1")
    expect(page.locator("#due-title")).to_have_text(words["due"])
    expect(page.locator("#due-offline-note")).to_contain_text(words["offline"])
    expect(page.locator("#due-actions")).to_be_hidden()
    page.screenshot(path=str(SHOTS / f"scanner-offline-due-{language}.png"))
    page.click("#next")
    scan(page, second)
    expect(page.locator("#result")).to_have_attribute("data-offline", "1")
    expect(page.locator("#result-due")).to_be_hidden()
    assert not DoorPayment.objects.exists()


def test_offline_after_online_does_not_ask_again(owing, e2e_page):
    """The first ticket admitted online; the network drops; the order's
    second ticket, checked offline, asks for nothing (and neither would
    the first once settled)."""
    url, order, (first, second) = owing
    page = e2e_page
    start(page, url, "en")
    page.check("#auto-admit")
    scan(page, first)
    expect(page.locator("#result")).to_have_attribute("data-offline", "0")
    expect(page.locator("#due-title")).to_have_text(WORDS["en"]["due"])
    page.click("#next")
    page.context.set_offline(True)
    scan(page, second)
    expect(page.locator("#result")).to_have_attribute("data-offline", "1")
    expect(page.locator("#result-due")).to_be_hidden()
