"""The organiser's sale mode and queue page in a real browser, in Swedish
and English at phone width: choosing a random window, pausing and resuming
admissions, the funnel, the published seed and the waiting list; axe finds
no serious violation and nothing is wider than the screen."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles
from tests.e2e.axe import require_axe, serious_violations
from tests.factories import event_with_types
from ticketshop.release.models import Entry, EntryState, Release, SaleMode
from ticketshop.release.services import normalise_email, session_hash


def add_entry(release, *, session_token, email, tickets_wanted):
    """An entry as the queue's join makes it (rows only: the tests then set
    the states the queue's services would have reached)."""
    return Entry.objects.create(
        release=release,
        session_key_hash=session_hash(session_token),
        email=email,
        email_normalised=normalise_email(email),
        tickets_wanted=tickets_wanted,
        joined_at=timezone.now(),
    )


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 412, "height": 860}
WORDS = {
    "sv-SE": {
        "link": "Försäljningssätt och kö",
        "saved": "Försäljningssättet är sparat.",
        "pause": "Pausa insläppen",
        "resume": "Återuppta insläppen",
    },
    "en-GB": {
        "link": "Sale mode and queue",
        "saved": "The sale mode is saved.",
        "pause": "Pause admissions",
        "resume": "Resume admissions",
    },
}


@pytest.fixture
def organiser(settings):
    from django.apps import apps

    require_axe()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    user = User.objects.create_user("arr", "a@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="organiser"))
    return user


@pytest.fixture(params=["sv-SE", "en-GB"])
def page(request, e2e_browser, live_server, organiser):
    context = e2e_browser.new_context(
        base_url=live_server.url, locale=request.param, viewport=PHONE
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.words = WORDS[request.param]
    page.goto("/admin/login/")
    page.fill("#id_username", "arr")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
    yield page
    context.close()


def clean(page):
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    assert found == [], "\n".join(found)
    assert page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    ), "wider than the screen"


def test_choose_a_random_window_then_pause_and_resume(page, screenshot):
    event, _ = event_with_types(seats=10, title="Fysikalen 2026")
    page.goto(f"/admin/backoffice/salesoverview/event/{event.pk}/")
    page.get_by_role("link", name=page.words["link"]).click()
    clean(page)
    page.check("input[name=mode][value=random_window]")
    opens = timezone.localtime() + timedelta(days=1)
    page.fill("#id_queue_opens_at", opens.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#id_sale_opens_at", opens.strftime("%Y-%m-%dT%H:%M:%S"))
    closes = opens + timedelta(minutes=2)
    page.fill("#id_window_closes_at", closes.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#id_max_checking_out", "25")
    page.click("#release-save")
    expect(page.locator(".messagelist")).to_contain_text(page.words["saved"])
    release = Release.objects.get(event=event)
    assert release.mode == SaleMode.RANDOM_WINDOW and release.max_checking_out == 25
    expect(page.locator("#commitment")).to_have_text(release.seed_commitment)
    expect(page.locator("#seed")).to_have_count(0)
    clean(page)
    screenshot(page, f"release-{page.words['link'][:4]}-phone")

    page.get_by_role("button", name=page.words["pause"]).click()
    expect(page.get_by_role("button", name=page.words["resume"])).to_be_visible()
    assert Release.objects.get(pk=release.pk).paused
    clean(page)
    page.get_by_role("button", name=page.words["resume"]).click()
    expect(page.get_by_role("button", name=page.words["pause"])).to_be_visible()
    assert not Release.objects.get(pk=release.pk).paused


def test_after_the_draw_the_seed_funnel_and_waiting_list(page, organiser):
    from ticketshop.backoffice import services

    event, _ = event_with_types(seats=10, title="Fysikalen 2026")
    now = timezone.now()
    release = services.set_release(
        user=organiser,
        event_id=event.pk,
        settings=services.ReleaseSettings(
            mode=SaleMode.RANDOM_WINDOW,
            queue_opens_at=now - timedelta(hours=1),
            sale_opens_at=now - timedelta(minutes=30),
            window_closes_at=now - timedelta(minutes=28),
        ),
    )
    for n in range(12):
        entry = add_entry(
            release,
            session_token=f"s{n}",
            email=f"person.with.a.long.address{n}@studentkaren.example.org",
            tickets_wanted=1 + n % 3,
        )
        state = EntryState.PAID if n < 4 else EntryState.SOLD_OUT_WAITING
        Entry.objects.filter(pk=entry.pk).update(state=state, rank=n + 1)
    Release.objects.filter(pk=release.pk).update(drawn_at=now)
    page.goto(f"/admin/backoffice/salesoverview/event/{event.pk}/release/")
    expect(page.locator("#seed")).to_have_text(release.seed)
    expect(page.locator("#f-joined")).to_have_text("12")
    expect(page.locator("#f-paid")).to_have_text("4")
    rows = page.locator("#waiting-list tbody tr")
    expect(rows).to_have_count(8)
    expect(rows.first.locator("td").first).to_have_text("1")
    clean(page)
