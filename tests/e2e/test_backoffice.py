"""The back office in a real browser: the dashboard with its chart, a
complimentary order, a refund with its confirmation page, an export
download; at desktop and phone size."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles, issue
from tests.factories import event_with_types
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.payments.models import SwishRefund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 412, "height": 860}


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
    event, (standard, student) = event_with_types(
        seats=20, prices=("199", "99"), title="Fysikalen 2026"
    )
    issue(organiser, event, {standard.pk: 3}, method=PaymentMethod.CASH)
    issue(organiser, event, {student.pk: 2}, name="Örjan Ärlig")
    return event, standard, student


def log_in(page, url):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "kassor")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_dashboard_shows_figures_and_the_chart(
    live_server, e2e_browser, organiser, show, screenshot, size
):
    event, _, _ = show
    context = e2e_browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/admin/backoffice/salesoverview/")
        expect(page.locator("#total-sold")).to_have_text("5")
        chart = page.locator("#sales-chart svg.sales-chart")
        expect(chart).to_be_visible()
        assert chart.bounding_box()["width"] > 200
        expect(chart.locator("polyline.sold")).to_have_count(1)
        screenshot(page, f"dashboard-{size}")
        page.click(f"text={event.title}")
        expect(page.locator("#sold")).to_have_text("5")
        expect(page.locator("#sales-chart .sold-total")).to_have_text("5")
        assert fits_the_screen(page)
        screenshot(page, f"event-{size}")
    finally:
        context.close()


def test_issue_a_complimentary_order(
    live_server, e2e_page, organiser, show, screenshot
):
    event, standard, _ = show
    page = e2e_page
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/backoffice/salesoverview/event/{event.pk}/")
    page.click("#issue-link")
    offer = event.offers.get(ticket_type=standard)
    page.fill(f"input[name=count_{offer.pk}]", "2")
    page.fill("#id_name", "Gästen Åström")
    page.fill("#id_email", "gast@example.org")
    page.select_option("#id_method", "COMPLIMENTARY")
    assert fits_the_screen(page)
    screenshot(page, "issue-form-phone")
    page.click("#issue-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("gast@example.org")
    order = Order.objects.get(email="gast@example.org")
    assert order.ticket_count == 2 and order.total_price == 0
    assert order.payment_method == PaymentMethod.COMPLIMENTARY
    screenshot(page, "issued-phone")


def test_refund_one_ticket_with_its_confirmation_page(
    live_server,
    e2e_browser,
    organiser,
    show,
    buyer,  # noqa: F811
    screenshot,
):
    event, standard, _ = show
    token = buyer.reserved_and_started(event, standard, count=3)
    assert buyer.pay(token).status_code == 200
    order = wait_for(
        lambda: Order.objects.filter(
            status=OrderStatus.PAID, payment_method=PaymentMethod.SWISH
        ).first()
    )
    first, *others = order.tickets.order_by("pk")
    context = e2e_browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
        page.click("a[href$='/cancel/']")
        # The whole order is proposed; keep only the first ticket.
        expect(page.locator("#money")).to_contain_text("597")
        for ticket in others:
            page.uncheck(f"#t{ticket.pk}")
        page.click("#preview-button")
        expect(page.locator("#money")).to_contain_text("199")
        expect(page.locator("#confirm-effects")).to_contain_text(first.external_id)
        assert not SwishRefund.objects.exists()
        screenshot(page, "refund-confirmation-desktop")
        page.set_viewport_size(PHONE)
        assert fits_the_screen(page)
        screenshot(page, "refund-confirmation-phone")
        page.click("#confirm-button")
        expect(page.locator(".messagelist")).to_contain_text(order.reference)
        screenshot(page, "refunded-phone")
    finally:
        context.close()
    refund = SwishRefund.objects.get()
    assert refund.amount == Decimal("199.00")
    order.refresh_from_db()
    assert order.ticket_count == 2


def test_export_download_is_a_csv_for_excel(
    live_server, e2e_page, organiser, show, tmp_path
):
    event, _, _ = show
    page = e2e_page
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/backoffice/salesoverview/event/{event.pk}/")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert re.match(r"fysikalen-2026-attendees\.csv", download.suggested_filename)
    path = tmp_path / "export.csv"
    download.save_as(path)
    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert "Örjan Ärlig" in text
    assert len(text.strip().splitlines()) == 1 + 5
