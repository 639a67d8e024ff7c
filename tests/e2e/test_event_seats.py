"""Seats lowered below the tickets sold: refused without a confirmation,
saved and audited with it, and the event flagged as overbooked on the
dashboard and its page; in Swedish and English, at desktop and phone width."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles, issue
from tests.factories import event_with_types
from ticketshop.backoffice.models import AuditEntry
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import PaymentMethod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 412, "height": 860},
}
WORDS = {
    "sv": {
        "refused": "10 biljetter är sålda: 8 platser överbokar evenemanget med 2.",
        "flag": "överbokat med 2 biljetter (10 sålda, 8 platser).",
        "page_flag": "Överbokat med 2 biljetter: 10 sålda, 8 platser.",
        "logged": "platser: 12 → 8",
        "action": "evenemang ändrat",
    },
    "en": {
        "refused": "10 tickets are sold: 8 seats overbook the event by 2.",
        "flag": "overbooked by 2 tickets (10 sold, 8 seats).",
        "page_flag": "Overbooked by 2 tickets: 10 sold, 8 seats.",
        "logged": "seats: 12 → 8",
        "action": "event changed",
    },
}


@pytest.fixture
def organiser(settings):
    from django.apps import apps

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    user = User.objects.create_user("kassor", "k@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="organiser"))
    return user


@pytest.fixture
def sold_ten(organiser):
    event, (standard,) = event_with_types(
        seats=12, prices=("199",), title="Fysikalen 2026"
    )
    issue(organiser, event, {standard.pk: 10}, method=PaymentMethod.CASH)
    return event


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_seats_below_sold_need_a_confirmation_are_audited_and_flagged(
    live_server, e2e_browser, organiser, sold_ten, screenshot, lang, size
):
    words = WORDS[lang]
    event = sold_ten
    context = e2e_browser.new_context(
        viewport=SIZES[size], locale=lang, extra_http_headers={"Accept-Language": lang}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "kassor")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()

        change = f"{live_server.url}/admin/events/chapterevent/{event.pk}/change/"
        page.goto(change)
        page.fill("#id_seats", "8")
        page.click("input[name=_save]")
        expect(page.locator(".errorlist")).to_contain_text(words["refused"])
        screenshot(page, f"refused-{lang}-{size}")
        assert ChapterEvent.objects.get(pk=event.pk).seats == 12
        assert not AuditEntry.objects.filter(action="event_change").exists()

        # Changes their mind: ticks, unticks (refused again), then ticks.
        page.check("#id_confirm_overbooking")
        page.uncheck("#id_confirm_overbooking")
        page.click("input[name=_save]")
        expect(page.locator(".errorlist")).to_contain_text(words["refused"])
        assert ChapterEvent.objects.get(pk=event.pk).seats == 12
        page.check("#id_confirm_overbooking")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_be_visible()
        assert ChapterEvent.objects.get(pk=event.pk).seats == 8

        entry = AuditEntry.objects.get(action="event_change")
        assert entry.before == {"seats": "12"}
        assert entry.after == {"seats": "8", "sold": 10, "overbooked": 2}
        assert entry.username == "kassor"

        page.goto(f"{live_server.url}/admin/backoffice/salesoverview/")
        expect(page.locator(".overbooked")).to_contain_text(words["flag"])
        expect(page.locator(".overbooked-flag")).to_be_visible()
        screenshot(page, f"dashboard-{lang}-{size}")
        page.locator(".overbooked a").click()
        expect(page.locator(".overbooked")).to_have_text(words["page_flag"])
        expect(page.locator("#audit")).to_contain_text(words["logged"])
        expect(page.locator("#audit")).to_contain_text(words["action"])
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        screenshot(page, f"event-{lang}-{size}")
    finally:
        context.close()


def test_event_and_offer_edits_are_logged_old_to_new(
    live_server, e2e_browser, organiser, sold_ten
):
    event = sold_ten
    context = e2e_browser.new_context(
        viewport=SIZES["desktop"], extra_http_headers={"Accept-Language": "en"}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "kassor")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}/admin/events/chapterevent/{event.pk}/change/")
        page.fill("#id_title", "Fysikalen 2026 (extra)")
        page.fill("#id_seats", "14")
        page.fill("#id_offers-0-limit", "6")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_be_visible()
    finally:
        context.close()
    edits = list(AuditEntry.objects.filter(action="event_change").order_by("pk"))
    assert len(edits) == 2
    fields, offers = edits
    assert fields.before == {"title": "Fysikalen 2026", "seats": "12"}
    assert fields.after["title"] == "Fysikalen 2026 (extra)"
    assert fields.after["seats"] == "14" and fields.after["overbooked"] == 0
    with translation.override("en"):
        assert "seats: 12 → 14" in fields.summary_text()
        assert "limit: – → 6" in offers.summary_text()
    with translation.override("sv"):
        assert "platser: 12 → 14" in fields.summary_text()
        assert "gräns: – → 6" in offers.summary_text()
