"""Each role clicks its way to its pages and never meets a bare 403: the
door manager from the start page to the door list; a forbidden or missing
admin page answers in the admin's look and the reader's language; in
Swedish and English, at desktop and phone width."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles
from tests.factories import event_with_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 412, "height": 860},
}
WORDS = {
    "sv": {
        "check_in": "Insläpp per evenemang",
        "door_list": "dörrlista",
        "pdf": "Dörrlista (PDF)",
        "forbidden": "Du får inte öppna den här sidan",
        "not_found": "Sidan kunde inte hittas",
    },
    "en": {
        "check_in": "Check-in per event",
        "door_list": "door list",
        "pdf": "Door list (PDF)",
        "forbidden": "You may not open this page",
        "not_found": "Page not found",
    },
}


@pytest.fixture
def staff(settings):
    from django.apps import apps

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    users = {}
    for name, role in (
        ("door", "door manager"),
        ("treasurer", "treasurer"),
        ("organiser", "organiser"),
    ):
        user = User.objects.create_user(
            name, f"{name}@example.org", "pw", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        users[name] = user
    return users


@pytest.fixture
def event(staff):
    event, _ = event_with_types(seats=20, prices=("199",), title="Fysikalen 2026")
    return event


def browse(browser, lang: str, size: str):
    context = browser.new_context(
        viewport=SIZES[size],
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def log_in(page, url, username):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def forbidden_links(page) -> list[str]:
    """Links of the page's content and breadcrumbs that answer 403."""
    hrefs = page.eval_on_selector_all(
        "#content a[href], .breadcrumbs a[href]",
        "els => els.map(e => e.href).filter(h => h.startsWith(location.origin))",
    )
    return [h for h in set(hrefs) if page.request.get(h).status == 403]


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_door_manager_clicks_from_the_start_page_to_the_door_list(
    live_server, e2e_browser, event, screenshot, lang, size
):
    words = WORDS[lang]
    context, page = browse(e2e_browser, lang, size)
    try:
        log_in(page, live_server.url, "door")
        assert forbidden_links(page) == []
        page.get_by_role("link", name=words["check_in"]).first.click()
        assert forbidden_links(page) == []
        page.get_by_role("link", name=words["door_list"], exact=True).first.click()
        expect(page.locator("h1")).to_contain_text(event.title)
        pdf = page.get_by_role("link", name=words["pdf"])
        expect(pdf).to_be_visible()
        assert forbidden_links(page) == []
        screenshot(page, f"door-event-{lang}-{size}")
        answer = page.request.get(live_server.url + pdf.get_attribute("href"))
        assert answer.status == 200
        assert answer.headers["content-type"] == "application/pdf"
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_no_role_is_shown_a_link_it_may_not_open(live_server, e2e_browser, event, lang):
    context, page = browse(e2e_browser, lang, "desktop")
    try:
        for username in ("treasurer", "door"):
            log_in(page, live_server.url, username)
            for path in (
                "/admin/",
                f"/admin/backoffice/salesoverview/event/{event.pk}/",
                "/admin/scanning/eventcheckin/",
            ):
                if page.request.get(live_server.url + path).status != 200:
                    continue
                page.goto(live_server.url + path)
                assert forbidden_links(page) == [], (username, path)
            context.clear_cookies()
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_forbidden_and_missing_admin_pages_are_in_the_admin_look(
    live_server, e2e_browser, event, screenshot, lang, size
):
    words = WORDS[lang]
    context, page = browse(e2e_browser, lang, size)
    try:
        log_in(page, live_server.url, "door")
        answer = page.goto(f"{live_server.url}/admin/backoffice/salesoverview/")
        assert answer.status == 403
        expect(page.locator("#site-name")).to_be_visible()
        expect(page.locator("h1")).to_have_text(words["forbidden"])
        expect(page.locator("#user-tools")).to_be_visible()
        assert "403 Forbidden" not in page.content()
        screenshot(page, f"403-{lang}-{size}")

        answer = page.goto(
            f"{live_server.url}/admin/backoffice/salesoverview/event/99999/"
        )
        assert answer.status == 404
        expect(page.locator("#site-name")).to_be_visible()
        expect(page.locator("h1")).to_have_text(words["not_found"])
        screenshot(page, f"404-{lang}-{size}")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_scan_log_fits_the_screen_and_offers_no_delete(
    live_server, e2e_browser, event, screenshot, lang
):
    from django.utils import timezone

    from ticketshop.scanning.models import ScanLog, ScanResult

    for n in range(30):
        ScanLog.objects.create(
            scanner_name=f"Entrance north door {n}",
            external_id=f"TICKET{n:04d}",
            event=event,
            use_requested=n % 2 == 0,
            result=ScanResult.ADMITTED if n % 3 else ScanResult.NOT_PAID,
            times_used_before=n % 3,
            offline_result="amber" if n % 4 == 0 else "",
            offline_key=f"key-{n}" if n % 4 == 0 else None,
            conflict=n % 8 == 0,
            client_address="2001:db8:85a3::8a2e:370:7334",
            scanned_at=timezone.now(),
        )
    context, page = browse(e2e_browser, lang, "desktop")
    try:
        log_in(page, live_server.url, "organiser")
        page.goto(f"{live_server.url}/admin/scanning/scanlog/")
        expect(page.locator("#result_list")).to_be_visible()
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        # The table itself, not only the page: no column hidden off its side.
        assert page.evaluate(
            "(() => { const r = document.querySelector('#changelist .results');"
            " return r.scrollWidth <= r.clientWidth + 1; })()"
        )
        actions = page.locator("select[name=action] option[value=delete_selected]")
        expect(actions).to_have_count(0)
        screenshot(page, f"scan-log-{lang}")
    finally:
        context.close()
