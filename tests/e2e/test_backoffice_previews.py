"""In a real browser, "Yes" commits exactly what its preview showed: a
cancel, an exchange and a mass e-mail changed after their preview are not
confirmed (the button is disabled with JavaScript, refused by the server
without), and no ticket ticked is an error. Swedish and English, desktop
and phone width."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles, issue
from tests.factories import event_with_types
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.backoffice.models import Mailing
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.payments.models import SwishRefund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 412, "height": 860}
WORDS = {
    "sv": {
        "changed": "Formuläret ändrades efter förhandsvisningen",
        "stale": "Du har ändrat formuläret efter förhandsvisningen",
        "empty": "Kryssa i minst en biljett",
        "flash": "1 biljett avbokad i order {ref}; 2 biljetter gäller fortfarande",
    },
    "en": {
        "changed": "The form was changed after the preview",
        "stale": "You changed the form after the preview",
        "empty": "Tick at least one ticket",
        "flash": "1 ticket cancelled in order {ref}; 2 tickets still valid",
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
def show(organiser):
    return event_with_types(seats=20, prices=("199", "99"), title="Fysikalen 2026")


@pytest.fixture
def open_page(e2e_browser, live_server):
    """Return open(language, size, js=True): a logged-in page."""
    contexts = []

    def open_(language: str, size: str = "desktop", *, js: bool = True):
        context = e2e_browser.new_context(
            viewport=DESKTOP if size == "desktop" else PHONE,
            locale="sv-SE" if language == "sv" else "en-GB",
            java_script_enabled=js,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "kassor")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()


def fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def paid_by_swish(buyer, event, ticket_type) -> Order:  # noqa: F811
    token = buyer.reserved_and_started(event, ticket_type, count=3)
    assert buyer.pay(token).status_code == 200
    return wait_for(
        lambda: Order.objects.filter(
            status=OrderStatus.PAID, payment_method=PaymentMethod.SWISH
        ).first()
    )


@pytest.mark.parametrize(
    ("language", "size"), [("sv", "desktop"), ("en", "phone")], ids=str
)
def test_a_ticket_unticked_after_the_preview_disables_yes_until_previewed_again(
    live_server,
    open_page,
    organiser,
    show,
    buyer,  # noqa: F811
    screenshot,
    language,
    size,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    first, second, third = order.tickets.order_by("pk")
    page = open_page(language, size)
    page.goto(
        f"{live_server.url}/admin/backoffice/salesoverview/order/{order.pk}/cancel/"
    )
    page.uncheck(f"#t{third.pk}")
    page.click("#preview-button")
    expect(page.locator("#money")).to_contain_text("398")
    # Changing one's mind: untick another ticket after the preview.
    page.uncheck(f"#t{second.pk}")
    expect(page.locator("#confirm-button")).to_be_disabled()
    expect(page.locator("#stale-note")).to_contain_text(WORDS[language]["stale"])
    assert fits_the_screen(page)
    screenshot(page, f"cancel-changed-{language}-{size}")
    # Ticked back as it was, the preview holds again.
    page.check(f"#t{second.pk}")
    expect(page.locator("#confirm-button")).to_be_enabled()
    page.uncheck(f"#t{second.pk}")
    page.click("#preview-button")
    expect(page.locator("#money")).to_contain_text("199")
    page.click("#confirm-button")
    flash = WORDS[language]["flash"].format(ref=order.reference)
    expect(page.locator(".messagelist")).to_contain_text(flash)
    screenshot(page, f"cancelled-one-{language}-{size}")
    refund = SwishRefund.objects.get()
    assert refund.amount == Decimal("199.00")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_without_javascript_the_server_refuses_a_cancel_changed_after_preview(
    live_server,
    open_page,
    organiser,
    show,
    buyer,  # noqa: F811
    screenshot,
    language,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    first, second, third = order.tickets.order_by("pk")
    page = open_page(language, "phone", js=False)
    page.goto(
        f"{live_server.url}/admin/backoffice/salesoverview/order/{order.pk}/cancel/"
    )
    # The whole order is proposed (597 kr); one ticket unticked, not previewed.
    expect(page.locator("#money")).to_contain_text("597")
    page.uncheck(f"#t{second.pk}")
    page.uncheck(f"#t{third.pk}")
    page.click("#confirm-button")
    expect(page.locator("#errors")).to_contain_text(WORDS[language]["changed"])
    assert not SwishRefund.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.ticket_count == 3
    # The new preview shows the form as it is now: one ticket, 199 kr.
    expect(page.locator("#money")).to_contain_text("199")
    assert fits_the_screen(page)
    screenshot(page, f"cancel-refused-{language}-phone")
    page.click("#confirm-button")
    expect(page.locator(".messagelist")).to_contain_text(order.reference)
    assert SwishRefund.objects.get().amount == Decimal("199.00")
    order.refresh_from_db()
    assert order.ticket_count == 2


@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_ticket_ticked_is_refused(
    live_server, open_page, organiser, show, screenshot, language
):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    page = open_page(language, "phone")
    page.goto(
        f"{live_server.url}/admin/backoffice/salesoverview/order/{order.pk}/cancel/"
    )
    for ticket in order.tickets.all():
        page.uncheck(f"#t{ticket.pk}")
    page.click("#preview-button")
    expect(page.locator("#errors")).to_contain_text(WORDS[language]["empty"])
    expect(page.locator("#confirm-button")).to_have_count(0)
    screenshot(page, f"cancel-empty-{language}-phone")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_an_exchange_to_another_night_after_the_preview_needs_a_new_preview(
    live_server, open_page, organiser, show, screenshot, js
):
    event, (standard, _) = show
    friday, (friday_type,) = event_with_types(seats=5, prices=("199",), title="Fre")
    saturday, (saturday_type,) = event_with_types(seats=5, prices=("299",), title="Lör")
    order = issue(organiser, event, {standard.pk: 1}, method=PaymentMethod.CASH)
    page = open_page("en", "desktop", js=js)
    url = f"{live_server.url}/admin/backoffice/salesoverview/order/{order.pk}/exchange/"
    page.goto(url)
    page.select_option("#id_event", str(friday.pk))
    page.click("#preview-button")  # offers the night's ticket types
    page.click("#preview-button")
    expect(page.locator("#difference")).to_contain_text("no difference")
    page.select_option("#id_event", str(saturday.pk))
    if js:
        expect(page.locator("#confirm-button")).to_be_disabled()
        screenshot(page, "exchange-changed-en-desktop")
        page.click("#preview-button")  # offers the night's ticket types
        page.click("#preview-button")
    else:
        page.click("#confirm-button")
        expect(page.locator("#errors")).to_contain_text(WORDS["en"]["changed"])
        order.refresh_from_db()
        assert order.event_id == event.pk
        screenshot(page, "exchange-refused-en-desktop")
        page.click("#preview-button")
    expect(page.locator("#difference")).to_contain_text("100")
    page.click("#confirm-button")
    expect(page.locator(".messagelist")).to_contain_text("Lör")
    order.refresh_from_db()
    assert order.event_id == saturday.pk


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_mailing_text_corrected_after_the_preview_is_sent_only_once_previewed(
    live_server, open_page, organiser, show, screenshot, js
):
    event, (standard, _) = show
    issue(organiser, event, {standard.pk: 1}, method=PaymentMethod.CASH)
    page = open_page("sv", "phone", js=js)
    page.goto(f"{live_server.url}/admin/backoffice/salesoverview/mailing/")
    page.check(f"#ev{event.pk}")
    page.fill("#id_subject", "Ny tid")
    page.fill("#id_body", "Vi börjar 19.00")
    page.click("#preview-button")
    expect(page.locator("#preview")).to_contain_text("19.00")
    page.fill("#id_body", "Vi börjar 19.30")
    if js:
        expect(page.locator("#confirm-button")).to_be_disabled()
        expect(page.locator("#stale-note")).to_be_visible()
        screenshot(page, "mailing-changed-sv-phone")
    else:
        page.click("#confirm-button")
        expect(page.locator("#errors")).to_contain_text(WORDS["sv"]["changed"])
        assert not Mailing.objects.exists()
        screenshot(page, "mailing-refused-sv-phone")
        # The page now previews the corrected text.
    if js:
        page.click("#preview-button")
    expect(page.locator("#preview")).to_contain_text("19.30")
    assert fits_the_screen(page)
    page.click("#confirm-button")
    expect(page.locator("#mailing-progress, h1")).not_to_have_count(0)
    mailing = wait_for(lambda: Mailing.objects.first())
    assert mailing.body == "Vi börjar 19.30"
