"""The back office's order page shows the order's history: an order the
buyer reserved, Swish's callback paid and an organiser cancelled, row by
row (local time, what happened, from -> to, who), in Swedish and English,
at desktop and phone width; Django admin's order page shows the same."""

import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles
from tests.e2e.axe import serious_violations
from tests.factories import event_with_types
from ticketshop.orders import lifecycle
from ticketshop.statemachine.machine import acting_as

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 412, "height": 860},
}
SHOTS = Path(tempfile.gettempdir()) / "shots-history"
# Each row: what happened, from -> to, who.
ROWS = {
    "sv": [
        ("Platser reserverade", "Reserverad", "köparen"),
        ("Betalningen påbörjades", "Reserverad → Reserverad", "köparen"),
        ("Betald", "Reserverad → Betald", "Swish (återanrop)"),
        (
            "Avbokad (betald)",
            "Betald → Avbokad eller återbetald av en arrangör",
            "kim",
        ),
    ],
    "en": [
        ("Seats reserved", "Reserved", "the buyer"),
        ("Payment started", "Reserved → Reserved", "the buyer"),
        ("Paid", "Reserved → Paid", "Swish (callback)"),
        ("Cancelled (paid)", "Paid → Cancelled or refunded by an organiser", "kim"),
    ],
}
HEADINGS = {
    "sv": ["När", "Vad som hände", "Status", "Vem"],
    "en": ["When", "What happened", "Status", "Who"],
}


@pytest.fixture
def cancelled(settings):
    """An order reserved by the buyer, paid through Swish's callback and
    cancelled by the organiser kim (each by its own actor)."""
    from django.apps import apps

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    user = User.objects.create_user("kim", "kim@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="organiser"))
    event, (standard,) = event_with_types(seats=10, prices=("0",), title="Fredag")
    now = timezone.now()
    with transaction.atomic(), acting_as("buyer"):
        order = lifecycle.reserve(
            event_id=event.pk,
            counts={standard.pk: 1},
            prices={standard.pk: standard.price},
            limits={standard.pk: None},
            now=now,
        )
        lifecycle.start_payment(order, email="buyer@example.org", now=now)
    with transaction.atomic(), acting_as("swish-callback"):
        locked = lifecycle.lock_order(order.pk)
        lifecycle.pay(locked, reference="R1", paid_at=now, now=now)
    with transaction.atomic(), acting_as("staff:kim"):
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=now)
    return order


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_order_page_shows_its_history(
    live_server, e2e_browser, cancelled, language, size
):
    url = live_server.url
    context = e2e_browser.new_context(viewport=SIZES[size])
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    SHOTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{url}/admin/login/")
        page.fill("#id_username", "kim")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()
        page.goto(url + reverse("admin:backoffice_fix", args=[cancelled.pk]))
        table = page.locator("#order-history")
        expect(table).to_be_visible()
        headings = table.locator("thead th")
        expect(headings).to_have_text(HEADINGS[language])
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(4)
        history = list(lifecycle.ORDER.history(cancelled.pk))
        for index, (what, states, who) in enumerate(ROWS[language]):
            cells = rows.nth(index).locator("td")
            # The time in the shop's time zone (Europe/Stockholm).
            local = timezone.localtime(history[index].at)
            expect(cells.nth(0)).to_have_text(local.strftime("%Y-%m-%d %H:%M:%S"))
            expect(cells.nth(1)).to_have_text(what)
            expect(cells.nth(2)).to_have_text(states)
            expect(cells.nth(3)).to_have_text(who)
        assert serious_violations(page) == []
        page.screenshot(
            path=str(SHOTS / f"history-{language}-{size}.png"), full_page=True
        )
        # Nothing sticks out of the page sideways (on a phone, each row is
        # a block of labelled lines).
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )

        # Django admin's order page shows the same rows.
        page.goto(url + reverse("admin:orders_order_change", args=[cancelled.pk]))
        rows = page.locator("#order-history tbody tr")
        expect(rows).to_have_count(4)
        for index, (what, states, who) in enumerate(ROWS[language]):
            cells = rows.nth(index).locator("td")
            expect(cells.nth(1)).to_have_text(what)
            expect(cells.nth(2)).to_have_text(states)
            expect(cells.nth(3)).to_have_text(who)
        assert serious_violations(page) == []
        page.screenshot(
            path=str(SHOTS / f"admin-history-{language}-{size}.png"), full_page=True
        )
    finally:
        context.close()
