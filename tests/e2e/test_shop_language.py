"""Swedish by default; the header's button switches the whole shop to English."""

import re

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import hold_seats, make_event, shop_e2e

pytestmark = shop_e2e


def test_language_button_switches_pages_and_script_texts(shop_page, snap):
    page = shop_page
    event, (standard,) = make_event(title="Vårbalen", seats=3)
    hold_seats(event, standard, 3, paid=True)

    page.goto(f"/events/{event.id}/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("#event-availability")).to_have_text("Slutsålt")
    snap(page, "swedish")

    page.get_by_role("button", name="English").click()

    # Still the same page, now in English.
    expect(page).to_have_url(re.compile(rf"/events/{event.id}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Reserve tickets")).to_be_disabled()
    expect(page.locator("#event-availability")).to_have_text("Sold out")
    expect(page.locator("#form-error")).to_have_text("Sorry, this event is sold out.")
    snap(page, "english")

    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_visible()
