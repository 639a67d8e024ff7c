"""A queued event in a browser at phone width, in Swedish and English: the
waiting buyer is told the confirmation link comes with the turn; the
admitted buyer whose address is not confirmed yet is told to reserve now
and confirm before paying; reserving works, the payment is refused with
that message (nothing asked of Swish), the queue page says the same once
reserved; axe finds no serious violation on each of these pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, make_event, shop_e2e
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.release import services
from ticketshop.release.models import Entry, Release, SaleMode

pytestmark = shop_e2e

TEXTS = {
    "sv-SE": {
        "join": "Ställ dig i kön",
        "later": "När det är din tur mejlar vi en länk till ada@example.org",
        "admitted": "Reservera nu; bekräfta din e-postadress innan du betalar",
        "reserve_link": "Reservera biljetter",
        "notice": "innan du betalar",
        "more": "En Standardbiljett till",
        "email": "E-postadress",
        "again": "E-postadressen igen",
        "terms": "Jag godkänner köpvillkoren",
        "reserve": "Reservera biljetter",
        "pay": "Betala med Swish",
        "refused": "Bekräfta din e-postadress innan du betalar",
        "reserved": "Bekräfta din e-postadress innan du betalar",
    },
    "en-GB": {
        "join": "Join the queue",
        "later": "When your turn comes we e-mail a link to ada@example.org",
        "admitted": "Reserve now; confirm your e-mail address before you pay",
        "reserve_link": "Reserve tickets",
        "notice": "before you pay",
        "more": "One more Standardbiljett",
        "email": "E-mail address",
        "again": "E-mail address again",
        "terms": "I accept the terms of purchase",
        "reserve": "Reserve tickets",
        "pay": "Pay with Swish",
        "refused": "Confirm your e-mail address before you pay",
        "reserved": "Confirm your e-mail address before you pay",
    },
}


def clean(page):
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    assert found == [], "\n".join(found)


def fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= DEVICES["phone"]["viewport"]["width"]


@pytest.mark.parametrize("locale", list(TEXTS))
def test_an_admitted_buyer_reserves_and_is_told_to_confirm_before_paying(
    e2e_browser, shop_server, locale
):
    require_axe()
    text = TEXTS[locale]
    event, _ = make_event(title="Spexet", seats=5)
    now = timezone.now()
    # The window closes in a few seconds: the page polls at 3-5 s.
    release = Release.objects.create(
        event=event,
        mode=SaleMode.RANDOM_WINDOW,
        queue_opens_at=now - timedelta(hours=1),
        sale_opens_at=now - timedelta(minutes=2),
        window_closes_at=now + timedelta(seconds=5),
    )
    context = e2e_browser.new_context(
        base_url=shop_server.url,
        locale=locale,
        timezone_id="Europe/Stockholm",
        **DEVICES["phone"],
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"/queue/{event.pk}/")
        page.get_by_label(re.compile("E-post|E-mail")).fill("ada@example.org")
        page.get_by_role("button", name=text["join"]).click()
        expect(page.locator("#queue-status")).to_be_visible()
        # A window of minutes mails the confirmation link when the turn
        # comes, and the waiting page says so.
        expect(page.get_by_text(text["later"])).to_be_visible()
        clean(page)
        fits_the_phone(page)

        later = release.window_closes_at + timedelta(seconds=1)
        services.draw(release.pk, now=later)
        services.admit(release.pk, now=later)
        assert Entry.objects.get().email_confirmed_at is None
        page.reload()
        status = page.locator("#queue-status")
        expect(status).to_contain_text(text["admitted"])
        clean(page)
        fits_the_phone(page)

        page.get_by_role("link", name=text["reserve_link"]).click()
        expect(page.locator(".queue-notice")).to_contain_text(text["notice"])
        page.get_by_role("button", name=text["more"]).click()
        page.get_by_label(text["email"], exact=True).fill("ada@example.org")
        page.get_by_label(text["again"]).fill("ada@example.org")
        # The draw's commitment wraps: the page fits the phone.
        fits_the_phone(page)
        page.get_by_label(text["terms"]).check()
        page.get_by_role("button", name=text["reserve"]).click()
        expect(page.get_by_role("timer")).to_be_visible()
        page.get_by_role("button", name=text["pay"]).click()
        expect(page.locator("#pay-error")).to_contain_text(text["refused"])
        clean(page)
        fits_the_phone(page)
        order = Order.objects.get()
        assert order.status == OrderStatus.RESERVED and not order.payment_pending

        page.goto(f"/queue/{event.pk}/")
        expect(page.locator("#queue-status")).to_contain_text(text["reserved"])
        clean(page)
        fits_the_phone(page)
    finally:
        context.close()
    assert errors == []
