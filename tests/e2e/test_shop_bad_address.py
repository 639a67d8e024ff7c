"""A buyer whose address a mail server would refuse (a name reserved for
local networks, which the page's own check lets through) is told so when
paying and no payment starts; after changing the order and the address
the payment starts with the corrected address."""

import re

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e
from ticketshop.orders.models import Order
from ticketshop.payments.models import SwishPayment

pytestmark = shop_e2e


def test_a_local_network_address_is_refused_then_corrected(shop_page, snap):
    page = shop_page
    event, _ = make_event(title="Fysikalen")
    page.goto("/")
    page.get_by_role("link", name=event.title).click()
    fill_order(page, {"Standardbiljett": 1}, email="kalle@kontoret.local")
    page.get_by_role("button", name="Reservera biljetter").click()
    page.get_by_role("button", name="Betala med Swish").click()

    expect(page.locator("#pay-error")).to_have_text(
        "E-postadressen godtogs inte. Ändra beställningen och kontrollera adressen."
    )
    snap(page, "refused")
    assert not SwishPayment.objects.exists()
    assert Order.objects.get().email == ""

    page.get_by_role("button", name="Ändra beställningen").click()
    page.get_by_label("E-postadress", exact=True).fill("kalle@example.com")
    page.get_by_label("E-postadressen igen").fill("kalle@example.com")
    page.get_by_role("button", name="Reservera biljetter").click()
    page.get_by_role("button", name="Betala med Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))
    snap(page, "paying")
    order = Order.objects.get(payment_pending=True)
    assert order.email == "kalle@example.com"
