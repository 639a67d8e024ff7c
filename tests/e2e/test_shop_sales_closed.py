"""Sales that have not opened yet, or that stop while the buyer is choosing."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e
from ticketshop.events.models import ChapterEvent

pytestmark = shop_e2e


def test_event_before_its_sales_open_shows_when_they_do(shop_page, snap):
    page = shop_page
    opens = timezone.now() + timedelta(days=2)
    event, _ = make_event(title="Julsittning", sales_start_at=opens)

    page.goto("/")
    badge = page.locator(".card", has_text="Julsittning").locator(".badge")
    expect(badge).to_contain_text("Försäljningen öppnar")
    snap(page, "event-list")

    page.get_by_role("link", name="Julsittning").click()
    expect(page.locator("#event-availability")).to_contain_text("Försäljningen öppnar")
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_disabled()
    snap(page, "not-yet-on-sale")


def test_sales_that_stop_during_the_visit_are_reported(shop_page, snap):
    page = shop_page
    event, _ = make_event(title="Julsittning")
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 2})
    ChapterEvent.objects.filter(pk=event.pk).update(
        sales_stop_at=timezone.now() - timedelta(seconds=1)
    )

    page.get_by_role("button", name="Reservera biljetter").click()

    expect(page.locator("#form-error")).to_have_text(
        "Biljettförsäljningen till evenemanget har avslutats."
    )
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_disabled()
    snap(page, "sales-stopped")
