"""The scanner page in the door staff's language, on the shop's clock.

The browser runs in New York time: an event at 19:00 in Stockholm must still
read 19:00. A slow "wrong password" answer never undoes a later login, and a
login writes nothing into the scan log.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from tests.factories import ChapterEventFactory
from tests.scanning.factories import ScannerAccountFactory, paid_ticket
from ticketshop.scanning.models import ScanLog

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "door-password-lang"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Some years ahead of whenever the suite runs (a fixed year would put the
# events in the past one day, and off the door list).
FUTURE_YEAR = datetime.now(STOCKHOLM).year + 4


@pytest.fixture
def door(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TIME_ZONE = "Europe/Stockholm"
    ScannerAccountFactory(name="Entrance", password=make_password(PASSWORD))
    return live_server.url


@pytest.fixture
def browser_in(e2e_browser):
    contexts = []

    def open_page(locale: str):
        context = e2e_browser.new_context(
            viewport={"width": 390, "height": 844},
            locale=locale,
            timezone_id="America/New_York",
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def evening_ticket():
    event = ChapterEventFactory(
        title="Vårkonsert",
        event_at=datetime(FUTURE_YEAR, 3, 14, 19, 0, tzinfo=STOCKHOLM),
    )
    return paid_ticket(event=event)


def test_swedish_staff_get_swedish_page_and_stockholm_time(
    door, browser_in, screenshot
):
    ticket = evening_ticket()
    page = browser_in("sv-SE")
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{door}/scan/")

    expect(page.locator("h1").first).to_have_text("Biljettskanner")
    page.fill("#password", PASSWORD)
    page.click("text=Börja skanna")
    expect(page.locator("#scanner")).to_be_visible()
    expect(page.locator("#logout")).to_have_text("Ändra lösenord")
    page.fill("#ticket-id", ticket.external_id)
    page.press("#ticket-id", "Enter")

    expect(page.locator("#result-title")).to_have_text("Giltig, inte använd än")
    # 19:00 in Stockholm, although the phone's clock is in New York (14:00).
    expect(page.locator("#result-detail")).to_contain_text("19:00")
    expect(page.locator("#result-detail")).to_contain_text("Vårkonsert")
    expect(page.locator("#result-detail")).not_to_contain_text("14:00")
    expect(page.locator("#door-status")).to_contain_text("biljettlista från")
    screenshot(page, "sv-result")
    assert errors == []


def test_language_switch_turns_the_page_english(door, browser_in, screenshot):
    ticket = evening_ticket()
    page = browser_in("sv-SE")
    page.goto(f"{door}/scan/")
    expect(page.locator("h1").first).to_have_text("Biljettskanner")

    page.click("button[lang=en]")

    expect(page.locator("h1").first).to_have_text("Ticket scanner")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")
    page.fill("#ticket-id", ticket.external_id)
    page.press("#ticket-id", "Enter")
    expect(page.locator("#result-title")).to_have_text("Valid, not yet used")
    expect(page.locator("#result-detail")).to_contain_text("19:00")
    screenshot(page, "en-result")


def test_english_browser_gets_english_page(door, browser_in):
    page = browser_in("en-GB")
    page.goto(f"{door}/scan/")

    expect(page.locator("h1").first).to_have_text("Ticket scanner")
    expect(page.locator("html")).to_have_attribute("lang", "en")


# Holds back every request whose body carries the wrong password, so that its
# answer arrives after the answer to the right one.
SLOW_WRONG_PASSWORD = """
(() => {
  const original = window.fetch;
  window.fetch = (url, init) => {
    const body = init && typeof init.body === "string" ? init.body : "";
    const answer = original(url, init);
    if (body.indexOf("wrong-one") === -1) { return answer; }
    window.slowAnswerDelivered = false;
    return answer.then((response) => new Promise((resolve) => setTimeout(() => {
      window.slowAnswerDelivered = true;
      resolve(response);
    }, 1500)));
  };
})();
"""


def test_late_wrong_password_answer_does_not_log_out(door, browser_in, screenshot):
    page = browser_in("en-GB")
    page.add_init_script(SLOW_WRONG_PASSWORD)
    page.goto(f"{door}/scan/")

    page.fill("#password", "wrong-one")
    page.click("text=Start scanning")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")
    expect(page.locator("#scanner")).to_be_visible()
    page.wait_for_function("window.slowAnswerDelivered === true")
    page.wait_for_timeout(200)

    expect(page.locator("#scanner")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()
    screenshot(page, "still-scanning")


def test_login_writes_no_scan_log_row(door, browser_in):
    page = browser_in("en-GB")
    page.goto(f"{door}/scan/")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")
    expect(page.locator("#scanner")).to_be_visible()

    assert ScanLog.objects.count() == 0


def test_wrong_password_message_is_tied_to_the_field(door, browser_in):
    page = browser_in("en-GB")
    page.goto(f"{door}/scan/")
    page.fill("#password", "nope")
    page.click("text=Start scanning")

    expect(page.locator("#login-error")).to_have_text("Wrong password")
    field = page.locator("#password")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile("login-error"))
