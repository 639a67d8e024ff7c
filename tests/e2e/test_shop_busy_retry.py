"""A reservation that meets a held seat lock ("Busy"), and a payment start
that meets the bound on Swish calls ("Busy"), are retried by the page."""

import re

from django.db import transaction
from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e
from ticketshop.orders.seatlock import lock_event
from ticketshop.payments import swish
from ticketshop.payments.models import SwishPayment

pytestmark = shop_e2e


def test_busy_answer_is_retried_after_retry_after(shop_page, snap, settings):
    page = shop_page
    settings.SEAT_LOCK_TIMEOUT_SECONDS = 0.5
    settings.BUSY_RETRY_AFTER_SECONDS = 1
    event, _ = make_event(title="Nollegasque")
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 1})

    # Another buyer's transaction holds the event's seat lock meanwhile.
    with transaction.atomic():
        lock_event(event_id=event.pk)
        page.get_by_role("button", name="Reservera biljetter").click()
        expect(page.locator("#form-error")).to_have_text(
            re.compile(r"^Många köper biljetter just nu\. Försöker igen om 1 s…$"),
            timeout=15_000,
        )
        snap(page, "busy-retrying")

    expect(
        page.get_by_role("heading", name="Dina biljetter är reserverade")
    ).to_be_visible()
    expect(page.locator("#form-error")).to_be_hidden()
    snap(page, "reserved-after-retry")


def test_busy_payment_start_is_retried_after_retry_after(shop_page, snap, settings):
    """start_payment answers 503 "Busy" while the shop's Swish calls are at
    their bound (issue 14); the page says so, waits and starts it by itself."""
    page = shop_page
    settings.SWISH_MAX_IN_FLIGHT = 1
    settings.BUSY_RETRY_AFTER_SECONDS = 1
    event, _ = make_event(title="Nollegasque")
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 1})
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(
        page.get_by_role("heading", name="Dina biljetter är reserverade")
    ).to_be_visible()

    # This thread holds the one slot for Swish calls meanwhile.
    with swish.swish_slot():
        page.get_by_role("button", name="Betala med Swish").click()
        expect(page.locator("#pay-error")).to_have_text(
            re.compile(r"^Många köper biljetter just nu\. Försöker igen om 1 s…$"),
            timeout=15_000,
        )
        snap(page, "payment-busy-retrying")
        assert not SwishPayment.objects.exists()

    expect(page).to_have_url(re.compile(r"/pay/$"), timeout=15_000)
    expect(page.get_by_role("link", name="Öppna Swish-simulatorn")).to_have_attribute(
        "href", re.compile(r"^/swish-simulator/pay/")
    )
    snap(page, "payment-started-after-retry")
