"""The whole purchase in the browser, paid through the Swish simulator."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e
from tests.qr import decode_png
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signing import verify_payload

pytestmark = shop_e2e


def reserve_and_open_payment(page, snap, event):
    """Walk from the event list to the payment page; return the Swish token."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Kommande evenemang")).to_be_visible()
    snap(page, "event-list")
    page.get_by_role("link", name=event.title).click()
    expect(page.get_by_role("heading", name=event.title)).to_be_visible()
    fill_order(page, {"Standardbiljett": 2, "Studentbiljett": 1})
    expect(page.locator("#total")).to_have_text(re.compile(r"497\s*kr"))
    snap(page, "order-filled")
    page.get_by_role("button", name="Reservera biljetter").click()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"1[45]:\d\d"))
    snap(page, "held")
    page.get_by_role("button", name="Betala med Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))
    expect(page.locator("#pay-amount")).to_have_text(re.compile(r"497\s*kr"))
    simulator = page.get_by_role("link", name="Öppna Swish-simulatorn")
    expect(simulator).to_have_attribute("href", re.compile(r"^/swish-simulator/pay/"))
    token = simulator.get_attribute("href").rstrip("/").rsplit("/", 1)[1]
    return token


def check_payment_method(page, device, token):
    """A phone gets the Swish app link, a computer the QR code to scan."""
    if device == "phone":
        link = page.get_by_role("link", name="Öppna Swish", exact=True)
        expect(link).to_be_visible()
        url = urlparse(link.get_attribute("href"))
        query = parse_qs(url.query)
        assert url.scheme == "swish" and url.netloc == "paymentrequest"
        assert query["token"] == [token]
        # The way back is the order's signed return link (no cookie needed).
        assert re.search(r"/pay/return/[^/]+/$", query["callbackurl"][0])
        expect(page.locator("#swish-qr")).to_be_hidden()
    else:
        qr = page.get_by_role("img", name="QR-kod för Swish-betalningen")
        expect(qr).to_be_visible()
        expect(qr).to_have_attribute("src", f"/generate_qr/{token}")
        page.wait_for_function("document.getElementById('swish-qr').naturalWidth > 0")


def pay_in_simulator(page, snap, action):
    """Open the simulator from the shop's link and press Approve or Decline."""
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Öppna Swish-simulatorn").click()
    swish = opened.value
    swish.get_by_role("button", name=action).click()
    expect(swish.get_by_test_id("status")).not_to_have_text("CREATED")
    snap(swish, f"simulator-{action.lower()}d")
    swish.close()


def test_purchase_ends_on_confirmation_with_one_qr_per_ticket(shop_page, snap, device):
    page = shop_page
    event, _ = make_event(
        title="Fysikalen",
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    token = reserve_and_open_payment(page, snap, event)
    check_payment_method(page, device, token)
    snap(page, "payment")

    pay_in_simulator(page, snap, "Approve")

    expect(page).to_have_url(re.compile(r"/confirmation/$"))
    heading = page.get_by_role("heading", name="Tack! Dina biljetter är betalda.")
    expect(heading).to_be_focused()
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    expect(page.locator("#confirm-reference")).to_have_text(order.payment_reference)
    expect(page.locator("#confirm-email")).to_have_text("kalle@example.com")
    expect(page.locator("#confirm-event")).to_have_text("Fysikalen")
    ids = list(order.tickets.order_by("id").values_list("external_id", flat=True))
    qr_codes = page.locator("img.ticket-qr")
    expect(qr_codes).to_have_count(3)
    page.wait_for_function(
        "[...document.querySelectorAll('img.ticket-qr')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    # Each code, as the door scanner's camera would see it, holds its ticket id.
    for external_id in ids:
        image = page.get_by_role("img", name=f"QR-kod för biljett {external_id}")
        # The crop may catch an edge of the next code on a slow page; this
        # image's own code is among what the camera reads. Only QR codes are
        # read: a cut edge can pass for a one-dimensional barcode.
        read = [
            verify_payload(text).external_id for text in decode_png(image.screenshot())
        ]
        assert external_id in read
    expect(page.locator(".ticket-type")).to_have_text(
        ["Standardbiljett", "Standardbiljett", "Studentbiljett"]
    )
    snap(page, "confirmation")


def test_declined_payment_says_so_and_offers_to_start_again(shop_page, snap, device):
    page = shop_page
    event, _ = make_event(
        title="Fysikalen",
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    reserve_and_open_payment(page, snap, event)
    snap(page, "payment")

    pay_in_simulator(page, snap, "Decline")

    failed = page.get_by_role("heading", name="Betalningen gick inte igenom")
    expect(failed).to_be_visible()
    expect(failed).to_be_focused()
    expect(page.locator("#fail-reason")).to_have_text(
        "Betalningen nekades i Swish. "
        "Inget har dragits och platserna släpptes till försäljning igen."
    )
    assert Order.objects.get().status == OrderStatus.FAILED_EXPIRED_RESERVATION
    snap(page, "declined")

    page.get_by_role("link", name="Börja om").click()
    expect(page).to_have_url(re.compile(rf"/events/{event.id}/$"))
    expect(page.get_by_role("button", name="Reservera biljetter")).to_be_enabled()
    snap(page, "start-again")


def test_timed_out_payment_says_so(shop_page, snap, settings):
    page = shop_page
    # As on Swish's test server, the message TM01 makes the request time out.
    settings.SWISH_SIMULATOR_ERROR_DELAY_SECONDS = 0.5
    event, _ = make_event(
        title="Fysikalen",
        swish_message="TM01",
        types=(("Standardbiljett", "199"), ("Studentbiljett", "99")),
    )
    reserve_and_open_payment(page, snap, event)

    failed = page.get_by_role("heading", name="Betalningen gick inte igenom")
    expect(failed).to_be_visible()
    expect(page.locator("#fail-reason")).to_contain_text(
        "Betalningen godkändes inte i tid, så Swish avbröt den."
    )
    snap(page, "timed-out")
