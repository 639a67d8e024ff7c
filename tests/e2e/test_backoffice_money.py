"""The Issue tickets page refuses an absurd cash price in the organiser's
language, keeps what was typed, and issues once the price is right; a bad
amount already stored shows as "invalid amount"; desktop and phone."""

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.e2e import test_backoffice as bo
from ticketshop.orders.models import Order, PaymentMethod, Ticket

DESKTOP, PHONE, fits_the_screen, log_in = (
    bo.DESKTOP,
    bo.PHONE,
    bo.fits_the_screen,
    bo.log_in,
)
# The back-office tests' organiser and event with two orders.
organiser = bo.organiser
show = bo.show

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "sv": {"too_big": "Belopp är högst 1000000 kr.", "not_number": "Ange ett belopp"},
    "en": {
        "too_big": "Amounts are at most 1000000 kr.",
        "not_number": "Enter an amount",
    },
}


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_bad_cash_price_is_refused_then_a_good_one_issues(
    live_server,
    e2e_browser,
    screenshot,
    show,
    language,
    size,
):
    event, standard, _ = show
    offer = event.offers.get(ticket_type=standard)
    before = Order.objects.count()
    context = e2e_browser.new_context(
        viewport=DESKTOP if size == "desktop" else PHONE,
        locale="sv-SE" if language == "sv" else "en-GB",
    )
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(
            f"{live_server.url}/admin/backoffice/salesoverview/event/{event.pk}/issue/"
        )
        page.fill(f"input[name=count_{offer.pk}]", "2")
        page.fill("#id_name", "Kassa Karlsson")
        page.fill("#id_email", "kassa@example.org")
        page.select_option("#id_method", PaymentMethod.CASH)
        page.fill(f"input[name=price_{offer.pk}]", "1e30")
        page.click("input[type=submit]")
        errors = page.locator("#errors")
        expect(errors).to_contain_text(WORDS[language]["too_big"])
        # What was typed is kept, so the organiser only fixes the price.
        expect(page.locator("#id_name")).to_have_value("Kassa Karlsson")
        assert fits_the_screen(page)
        screenshot(page, f"issue-too-big-{language}-{size}")

        # Changes their mind: types NaN, then a Swedish decimal comma.
        page.fill(f"input[name=price_{offer.pk}]", "NaN")
        page.click("input[type=submit]")
        expect(errors).to_contain_text(WORDS[language]["not_number"])
        screenshot(page, f"issue-nan-{language}-{size}")
        page.fill(f"input[name=price_{offer.pk}]", "99,50")
        page.click("input[type=submit]")
        expect(page.locator("#errors")).to_have_count(0)
        expect(page.locator(".messagelist")).to_be_visible()
        screenshot(page, f"issue-done-{language}-{size}")
    finally:
        context.close()
    assert Order.objects.count() == before + 1
    assert str(Order.objects.latest("id").total_price) == "199.00"


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_bad_stored_amount_shows_as_invalid(
    live_server,
    e2e_browser,
    screenshot,
    show,
    language,
    size,
):
    event, _, _ = show
    order = Order.objects.filter(payment_method=PaymentMethod.CASH).first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} SET price = %s WHERE order_id = %s",  # noqa: S608
            ["NaN", order.pk],
        )
    context = e2e_browser.new_context(
        viewport=DESKTOP if size == "desktop" else PHONE,
        locale="sv-SE" if language == "sv" else "en-GB",
    )
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/admin/backoffice/salesoverview/dashboard/")
        expect(page.locator("#total-sold")).to_be_visible()
        page.goto(
            f"{live_server.url}/admin/backoffice/salesoverview/order/{order.pk}/cancel/"
        )
        word = "ogiltigt belopp" if language == "sv" else "invalid amount"
        expect(page.locator("body")).to_contain_text(word)
        assert fits_the_screen(page)
        screenshot(page, f"cancel-invalid-{language}-{size}")
    finally:
        context.close()
