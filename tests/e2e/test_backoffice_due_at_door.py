"""The back office records money paid at the door: from the order's page,
amount and method, a refusal of more than is due, then the payment; in
Swedish and English, at desktop and phone width."""

import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tests.backoffice.conftest import _roles, issue
from tests.e2e.axe import serious_violations
from tests.factories import event_with_types
from ticketshop.backoffice import services
from ticketshop.orders.models import PaymentMethod
from ticketshop.payments.models import DoorPayment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 412, "height": 860},
}
SHOTS = Path(tempfile.gettempdir()) / "shots-due"
WORDS = {
    "sv": {
        "link": "Registrera betalning i dörren",
        "too_much": "Mer än vad som ska betalas: ordern ska betala 100 kr i dörren",
        "swish": "Swish i dörren",
        "cash": "kontant i dörren",
        "done": "100 kr betalt i dörren (kontant i dörren)",
        "nothing": "Ordern har inget att betala i dörren.",
    },
    "en": {
        "link": "Record payment at the door",
        "too_much": "More than is due: the order owes 100 kr at the door",
        "swish": "Swish at the door",
        "cash": "cash at the door",
        "done": "100 kr paid at the door (cash at the door)",
        "nothing": "Nothing is due at the door for this order.",
    },
}


@pytest.fixture
def owing(settings):
    from django.apps import apps

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _roles.create_roles(apps, None)
    user = User.objects.create_user("kassor", "k@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="treasurer"))
    event, (standard,) = event_with_types(seats=10, prices=("199",), title="Fredag")
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(
        user,
        event,
        {standard.pk: 2},
        method=PaymentMethod.CASH,
        prices={standard.pk: Decimal("199")},
    )
    services.exchange_order(
        user=user, order_id=order.pk, event_id=later.pk, type_map={standard.pk: dear.pk}
    )
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["sv", "en"])
def test_treasurer_records_cash_paid_at_the_door(
    live_server, e2e_browser, owing, language, size
):
    words = WORDS[language]
    url = live_server.url
    context = e2e_browser.new_context(viewport=SIZES[size])
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    SHOTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{url}/admin/login/")
        page.fill("#id_username", "kassor")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()
        page.goto(f"{url}/admin/orders/order/{owing.pk}/change/")
        page.click(f"text={words['link']}")
        expect(page.locator("#due-now")).to_contain_text("100")
        # Too much first, with Swish chosen; then the right amount in cash.
        page.fill("#id_amount", "150")
        page.check("input[name=method][value=SWISH]")
        page.click("#collect-form input[type=submit]")
        expect(page.locator(".bo-errors")).to_contain_text(words["too_much"])
        assert serious_violations(page) == []
        page.screenshot(
            path=str(SHOTS / f"backoffice-refused-{language}-{size}.png"),
            full_page=True,
        )
        assert not DoorPayment.objects.exists()
        page.fill("#id_amount", "100")
        page.check("input[name=method][value=CASH]")
        # A double click sends the form twice with one key: recorded once.
        page.locator("#collect-form input[type=submit]").dblclick()
        expect(page.locator(".messagelist")).to_contain_text(words["done"])
        expect(page.locator("#door-payments")).to_contain_text(words["cash"])
        expect(page.locator("#collect-form")).to_have_count(0)
        expect(page.get_by_text(words["nothing"])).to_be_visible()
        page.screenshot(
            path=str(SHOTS / f"backoffice-paid-{language}-{size}.png"), full_page=True
        )
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        payment = DoorPayment.objects.get()  # one, after the double click
        assert (payment.amount, payment.method) == (Decimal("100"), "CASH")
        # The event's dashboard: nothing left to collect, 100 kr collected.
        page.goto(f"{url}/admin/backoffice/salesoverview/event/{owing.event_id}/")
        expect(page.locator("#due-at-door")).to_have_text(re.compile(r"^0[.,]00$"))
        expect(page.locator("#collected-at-door")).to_have_text(
            re.compile(r"^100[.,]00$")
        )
        page.screenshot(
            path=str(SHOTS / f"dashboard-{language}-{size}.png"), full_page=True
        )
    finally:
        context.close()
