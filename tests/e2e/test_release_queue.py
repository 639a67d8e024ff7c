"""The queue page in a browser at phone width, in Swedish and English: axe
finds no serious violation before and after joining; the page follows the
queue by itself (polling with JavaScript, a meta refresh without) and shows
the buyer's turn when they are admitted."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import DEVICES, shop_e2e
from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry

pytestmark = shop_e2e


@pytest.fixture
def server(live_server, settings):
    require_axe()
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server


def clean(page):
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    assert found == [], "\n".join(found)


def admit_everyone(release):
    Entry.objects.update(email_confirmed_at=release.window_closes_at)
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)


@pytest.mark.parametrize(
    "locale, join, turn",
    [
        ("sv-SE", "Ställ dig i kön", "Nu är det din tur!"),
        ("en-GB", "Join the queue", "It is your turn!"),
    ],
)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_joining_and_waiting_for_ones_turn(
    e2e_browser, server, settings, locale, join, turn, javascript
):
    # The window closes in 10 s and the draw is due 2 s later: the page asks
    # once then, at the entry's own moment in the next 4-10 s (at most half
    # the 20 s to reserve).
    settings.RELEASE_ARRIVAL_GRACE_SECONDS = 0
    settings.RELEASE_TICK_SECONDS = 2
    event, _, release = queued_event(
        seats=5, start=timezone.now() - timedelta(seconds=50), admit_seconds=20
    )
    context = e2e_browser.new_context(
        base_url=server.url,
        locale=locale,
        java_script_enabled=javascript,
        **DEVICES["phone"],
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"/queue/{event.pk}/")
        expect(page.locator("code.commitment")).to_have_text(release.seed_commitment)
        if javascript:
            clean(page)
        page.get_by_label(re.compile("E-post|E-mail")).fill("ada@example.org")
        page.locator("#tickets").select_option("2")
        page.get_by_role("button", name=join).click()
        status = page.locator("#queue-status")
        expect(status).to_have_attribute("aria-live", "polite")
        expect(status).to_contain_text(re.compile("kön|queue"))
        expect(page.locator("main")).to_contain_text(
            re.compile(
                "det finns i den publicerade dragningen|it is in the published draw"
            )
        )
        if javascript:
            clean(page)
        # Phone width: nothing wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= DEVICES["phone"]["viewport"]["width"]

        admit_everyone(release)
        # The page notices by itself (poll or meta refresh, 3-5 s).
        expect(status).to_contain_text(turn, timeout=25_000)
        if javascript:
            clean(page)
    finally:
        context.close()
    assert errors == []


@pytest.mark.parametrize(
    "locale, join, waiting, placed",
    [
        (
            "sv-SE",
            "Ställ dig i kön",
            "Din plats delas ut inom några sekunder",
            "Din plats i kön: 2",
        ),
        (
            "en-GB",
            "Join the queue",
            "Your place is given within a few seconds",
            "Your place in the queue: 2",
        ),
    ],
)
def test_a_late_arrival_is_told_its_place_is_coming(
    e2e_browser, server, locale, join, waiting, placed
):
    """Joined after the draw: no place yet (the worker's next round gives
    it, behind everyone before), then the place, without a reload by hand."""
    event, _, release = queued_event(
        seats=5, start=timezone.now() - timedelta(seconds=90)
    )
    services.join(
        event_id=event.pk,
        session_token="early",
        email="early@example.org",
        tickets_wanted=1,
        now=release.window_closes_at - timedelta(seconds=5),
    )
    assert services.draw(release.pk)
    # Paused: the round ranks the late arrival but admits nobody.
    type(release).objects.filter(pk=release.pk).update(paused=True)
    context = e2e_browser.new_context(
        base_url=server.url, locale=locale, **DEVICES["phone"]
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"/queue/{event.pk}/")
        page.get_by_label(re.compile("E-post|E-mail")).fill("late@example.org")
        page.get_by_role("button", name=join).click()
        status = page.locator("#queue-status")
        expect(status).to_contain_text(waiting)
        # Its id is not in the published draw, and the page says so.
        expect(page.locator("main")).to_contain_text(
            re.compile(
                "Den finns inte i den publicerade dragningen"
                "|It is not in the published draw"
            )
        )
        clean(page)
        services.admit(release.pk)
        expect(status).to_contain_text(placed, timeout=25_000)
        clean(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= DEVICES["phone"]["viewport"]["width"]
    finally:
        context.close()
    assert errors == []
