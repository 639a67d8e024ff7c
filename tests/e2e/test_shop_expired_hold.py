"""A hold that runs out before the buyer pays."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e
from ticketshop.orders.models import Order

pytestmark = shop_e2e


def test_expired_hold_says_so_and_offers_to_start_again(shop_page, snap):
    page = shop_page
    event, _ = make_event(
        title="Nollegasque",
        seats=50,
        reservation_minutes=15,
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    # The page's clock is Playwright's, so the countdown can be run forward.
    page.clock.install()
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 1, "Studentbiljett": 2})
    snap(page, "order-filled")
    page.get_by_role("button", name="Reservera biljetter").click()

    expect(
        page.get_by_role("heading", name="Dina biljetter är reserverade")
    ).to_be_focused()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"1[45]:\d\d"))
    expect(page.locator("#hold-lines")).to_contain_text("2 × Studentbiljett")
    expect(page.locator("#hold-total")).to_have_text(re.compile(r"397\s*kr"))
    snap(page, "held")

    # Fifteen minutes pass: the server's hold lapses, and so does the page's.
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page.clock.run_for("15:01")

    expired = page.get_by_role("heading", name="Din reservation har gått ut")
    expect(expired).to_be_visible()
    expect(expired).to_be_focused()
    expect(page.locator("#expired")).to_contain_text("Inget har dragits.")
    expect(page.get_by_role("button", name="Betala med Swish")).to_be_hidden()
    snap(page, "expired")

    page.get_by_role("button", name="Börja om").click()
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_visible()
    expect(page.get_by_role("heading", name="Nollegasque")).to_be_focused()
    snap(page, "start-again")


def test_coming_back_to_a_hold_starts_the_form_from_its_tickets(shop_page, snap):
    """A reload (or the queue page's "Go to your reservation") finds the
    session's hold: the form starts from its tickets and says that reserving
    again replaces it; the buyer takes one ticket fewer, reserves and pays."""
    page = shop_page
    event, _ = make_event(
        title="Tandemkvällen",
        seats=50,
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 2, "Studentbiljett": 1})
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(page.get_by_role("button", name="Betala med Swish")).to_be_visible()
    first = Order.objects.get()

    page.reload()
    expect(page.locator("#event-status")).to_contain_text(
        "Dina reserverade biljetter är valda nedan"
    )
    counts = page.locator("#ticket-lines input[type=number]")
    expect(counts.nth(0)).to_have_value("2")  # Standardbiljett
    expect(counts.nth(1)).to_have_value("1")  # Studentbiljett
    snap(page, "came-back")

    # Changes their mind: one student ticket fewer.
    page.get_by_role("button", name="En Studentbiljett färre").click()
    fill_order(page, {})
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(page.locator("#hold-lines")).to_contain_text("2 × Standardbiljett")
    expect(page.locator("#hold-lines")).not_to_contain_text("Studentbiljett")
    expect(page.locator("#hold-total")).to_have_text(re.compile(r"398\s*kr"))
    # The notice about the form went with the form.
    expect(page.locator("#event-status")).not_to_contain_text("valda nedan")
    # The new reservation replaced the hold, it did not add to it.
    live = Order.objects.exclude(pk=first.pk).get()
    assert live.tickets.count() == 2
    first.refresh_from_db()
    assert first.status != "RESERVED"
    snap(page, "reserved-again")
