"""Sold out and nearly sold out, as the buyer sees it in the browser."""

import re

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, hold_seats, make_event, shop_e2e

pytestmark = shop_e2e


def test_sold_out_event_is_marked_and_cannot_be_reserved(shop_page, snap):
    page = shop_page
    full, (standard,) = make_event(title="Vårbalen", seats=4)
    hold_seats(full, standard, 4, paid=True)
    nearly, (other,) = make_event(title="Pubkväll", seats=30)
    hold_seats(nearly, other, 25, paid=True)
    make_event(title="Filmkväll", seats=200)

    page.goto("/")
    sold_out_card = page.locator(".card", has_text="Vårbalen")
    expect(sold_out_card.locator(".badge")).to_have_text("Slutsålt")
    expect(page.locator(".card", has_text="Pubkväll").locator(".badge")).to_have_text(
        "Få kvar: 5 biljetter"
    )
    expect(page.locator(".card", has_text="Filmkväll").locator(".badge")).to_have_count(
        0
    )
    snap(page, "event-list")

    sold_out_card.get_by_role("link", name="Vårbalen").click()
    expect(page.get_by_role("heading", name="Vårbalen")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Tyvärr, evenemanget är slutsålt.")
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_disabled()
    expect(page.get_by_role("button", name="En Standardbiljett till")).to_be_disabled()
    snap(page, "sold-out-event")


def test_out_of_tickets_answer_says_how_many_are_left(shop_page, snap):
    page = shop_page
    event, (standard,) = make_event(title="Vårbalen", seats=5)

    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 4})
    expect(page.locator("#total")).to_have_text(re.compile(r"796\s*kr"))
    snap(page, "four-chosen")
    # Someone else takes three seats while this buyer is typing.
    hold_seats(event, standard, 3)

    page.get_by_role("button", name="Reservera biljetter").click()

    alert = page.locator("#form-error")
    expect(alert).to_have_text(
        "Bara 2 biljetter finns kvar. Välj färre och försök igen."
    )
    expect(alert).to_be_focused()
    # The steppers now offer what is left.
    expect(page.get_by_role("spinbutton", name="Standardbiljett")).to_have_value("2")
    expect(page.get_by_role("button", name="En Standardbiljett till")).to_be_disabled()
    snap(page, "out-of-tickets")

    page.get_by_role("button", name="Reservera biljetter").click()
    expect(
        page.get_by_role("heading", name="Dina biljetter är reserverade")
    ).to_be_visible()
    snap(page, "reserved-what-was-left")


def test_buyers_own_hold_does_not_make_the_event_sold_out_to_them(shop_page, snap):
    page = shop_page
    event, _ = make_event(title="Vårbalen", seats=2)
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 2})
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(page.get_by_role("timer")).to_be_visible()

    # Back on the page later: the two held seats are this buyer's to change.
    page.reload()
    expect(page.get_by_role("heading", name="Vårbalen")).to_be_visible()
    expect(page.locator("#event-availability")).to_have_text("Få kvar: 2 biljetter")
    # The form starts from the hold's two tickets; the buyer takes one fewer.
    expect(page.locator("#ticket-lines input[type=number]")).to_have_value("2")
    page.get_by_role("button", name="En Standardbiljett färre").click()
    fill_order(page, {})
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(page.locator("#hold-lines")).to_have_text("1 × Standardbiljett")
    snap(page, "changed-own-hold")
