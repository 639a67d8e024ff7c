"""In a real browser, in Swedish and English, at desktop and phone size: the
back office refuses an address no mail server takes (issuing tickets,
correcting an order's address) and a mass e-mail subject with a line break,
says why, and goes through once the organiser corrects it."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles, issue
from tests.factories import event_with_types
from ticketshop.backoffice.models import Mailing
from ticketshop.orders.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 412, "height": 860},
}
LOCALES = {"en": "en-GB", "sv": "sv-SE"}
LOCAL_HOST = {
    "en": "not a local host name",
    "sv": "inte ett lokalt värdnamn",
}
ONE_LINE = {"en": "without line breaks", "sv": "utan radbrytningar"}


@pytest.fixture
def organiser(settings):
    from django.apps import apps

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    user = User.objects.create_user("kassor", "k@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="organiser"))
    return user


@pytest.fixture
def show(organiser):
    event, (standard, _student) = event_with_types(
        seats=20, prices=("199", "99"), title="Fysikalen 2026"
    )
    order = issue(organiser, event, {standard.pk: 1}, email="fel@exmaple.org")
    return event, standard, order


@pytest.fixture
def browse(e2e_browser, live_server):
    contexts = []

    def open_page(lang: str, size: str):
        context = e2e_browser.new_context(viewport=SIZES[size], locale=LOCALES[lang])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "kassor")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()
        return page

    yield open_page
    for context in contexts:
        context.close()


def fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "sv"])
def test_issuing_to_a_local_host_is_refused_then_issued_when_corrected(
    live_server, browse, show, screenshot, lang, size
):
    event, standard, _order = show
    page = browse(lang, size)
    page.goto(f"{live_server.url}/admin/backoffice/salesoverview/event/{event.pk}/")
    page.click("#issue-link")
    offer = event.offers.get(ticket_type=standard)
    page.fill(f"input[name=count_{offer.pk}]", "2")
    page.fill("#id_name", "Gästen Åström")
    page.fill("#id_email", "gast@localhost")
    page.click("#issue-form input[type=submit]")

    expect(page.locator("#errors")).to_contain_text(LOCAL_HOST[lang])
    assert fits_the_screen(page)
    screenshot(page, f"issue-refused-{lang}-{size}")
    assert not Order.objects.filter(name="Gästen Åström").exists()
    # What was typed is still there; fix only the domain.
    expect(page.locator("#id_email")).to_have_value("gast@localhost")
    expect(page.locator(f"input[name=count_{offer.pk}]")).to_have_value("2")
    page.fill("#id_email", "gast@example.org")
    page.click("#issue-form input[type=submit]")

    expect(page.locator(".messagelist")).to_contain_text("gast@example.org")
    order = Order.objects.get(name="Gästen Åström")
    assert (order.email, order.ticket_count) == ("gast@example.org", 2)


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_correcting_an_address_to_a_local_host_is_refused_then_corrected(
    live_server, browse, show, screenshot, lang
):
    _event, _standard, order = show
    page = browse(lang, "phone")
    page.goto(live_server.url + reverse("admin:backoffice_fix", args=[order.pk]))
    page.fill("#id_email", "ratt@intranet")
    page.click("#email-form input[type=submit]")

    expect(page.locator(".bo-errors")).to_contain_text(LOCAL_HOST[lang])
    expect(page.locator("#id_email")).to_have_value("ratt@intranet")
    assert fits_the_screen(page)
    screenshot(page, f"fix-refused-{lang}")
    order.refresh_from_db()
    assert order.email == "fel@exmaple.org"

    page.fill("#id_email", "ratt@example.org")
    page.click("#email-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("ratt@example.org")
    order.refresh_from_db()
    assert order.email == "ratt@example.org"


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_mailing_subject_with_a_line_break_is_refused_then_previewed(
    live_server, browse, show, screenshot, lang
):
    event, _standard, _order = show
    page = browse(lang, "phone")
    page.goto(live_server.url + reverse("admin:backoffice_mailing"))
    page.check(f"#ev{event.pk}")
    page.fill("#id_body", "Dörrarna öppnar 18.")
    # A text field cannot hold a line break; a pasted or scripted form can.
    page.evaluate(
        """() => {
            const old = document.getElementById('id_subject');
            const area = document.createElement('textarea');
            area.name = 'subject'; area.id = 'id_subject';
            area.value = 'Välkommen\\r\\nBcc: alla@example.org';
            old.replaceWith(area);
        }"""
    )
    page.click("#preview-button")

    expect(page.locator("#errors")).to_contain_text(ONE_LINE[lang])
    assert fits_the_screen(page)
    screenshot(page, f"mailing-refused-{lang}")
    expect(page.locator("#preview")).to_have_count(0)

    page.fill("#id_subject", "Välkommen till Fysikalen")
    page.click("#preview-button")
    expect(page.locator("#preview")).to_contain_text("Välkommen till Fysikalen")
    assert not Mailing.objects.exists()
