"""The waiting list in the browser: a sold-out event's page links to it,
joining, and the offer's page (take fewer, decline), in Swedish and English
at phone width, with no serious axe violation."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import DEVICES, hold_seats, make_event, shop_e2e
from ticketshop.orders import lifecycle
from ticketshop.waitlist import services
from ticketshop.waitlist.models import Offer

pytestmark = shop_e2e

TEXTS = {
    "sv-SE": {
        "link": "Slutsålt: ställ dig på väntelistan",
        "join": "Ställ dig på väntelistan",
        "joined": "Du står på väntelistan, plats 1.",
        "email": "E-postadress",
        "take": "Ta biljetterna och betala",
        "decline": "Inte den här gången (stå kvar på listan)",
        "declined": "Du tackade nej",
    },
    "en-GB": {
        "link": "Sold out: join the waiting list",
        "join": "Join the waiting list",
        "joined": "You are on the waiting list, place 1.",
        "email": "E-mail address",
        "take": "Take the tickets and pay",
        "decline": "Not this time (stay on the list)",
        "declined": "You declined the offer",
    },
}


@pytest.fixture
def server(live_server, settings):
    require_axe()
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SWISH_API_URL = ""
    settings.SWISH_CALLBACK_URL = ""
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = None
    return live_server


@pytest.fixture(params=list(TEXTS))
def locale(request):
    return request.param


@pytest.fixture
def page(e2e_browser, server, locale):
    context = e2e_browser.new_context(
        base_url=server.url, locale=locale, **DEVICES["phone"]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def clean(page):
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    assert found == [], "\n".join(found)
    # Phone width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def cancel(order):
    from django.db import transaction
    from django.utils import timezone

    with transaction.atomic(durable=True):
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=timezone.now())


def test_joining_and_taking_fewer_than_offered(page, locale):
    texts = TEXTS[locale]
    event, (standard, student) = make_event(
        title="Vårbalen", seats=4, types=(("Standardbiljett", "199"), ("Student", "99"))
    )
    [first] = hold_seats(event, standard, 4)
    page.goto(f"/events/{event.id}/")
    page.get_by_role("link", name=texts["link"]).click()
    clean(page)
    page.get_by_label(texts["email"]).fill("vanta@example.org")
    page.locator("#tickets").select_option("2")
    page.get_by_role("button", name=texts["join"]).click()
    expect(page.get_by_role("status")).to_contain_text(texts["joined"])
    clean(page)

    cancel(first)  # 4 seats back; offered as the worker would
    [offer_id] = services.offer_seats(event_id=event.id)
    offer = Offer.objects.get(pk=offer_id)
    assert offer.seats == 2
    page.goto(f"/waitlist/offer/{offer.token}/")
    clean(page)
    page.locator(f"#type_{standard.id}").select_option("0")
    page.locator(f"#type_{student.id}").select_option("1")
    page.get_by_role("button", name=texts["take"]).click()
    expect(page).to_have_url(re.compile(r"/pay/$"))
    offer.refresh_from_db()
    assert (offer.state, offer.seats_taken) == ("taken", 1)


def test_declining_an_offer(page, locale):
    texts = TEXTS[locale]
    event, (standard,) = make_event(title="Vårbalen", seats=2)
    [order] = hold_seats(event, standard, 2)
    page.goto(f"/events/{event.id}/waiting-list/")
    page.get_by_label(texts["email"]).fill("vanta@example.org")
    page.get_by_role("button", name=texts["join"]).click()
    expect(page.get_by_role("status")).to_contain_text(texts["joined"])
    cancel(order)
    [offer_id] = services.offer_seats(event_id=event.id)
    page.goto(f"/waitlist/offer/{Offer.objects.get(pk=offer_id).token}/")
    page.get_by_role("button", name=texts["decline"]).click()
    expect(page.get_by_role("status")).to_contain_text(texts["declined"])
    clean(page)
    assert Offer.objects.get(pk=offer_id).state == "declined"
