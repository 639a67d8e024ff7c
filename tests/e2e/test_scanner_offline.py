"""The door keeps scanning without network, and the server ends up right.

The page loads and downloads its list; the browser goes offline (and the
page is reloaded, from its service worker); five tickets are scanned: one
as usual, one twice (auto-admit lets it in once, then waits), one cancelled
on the server meanwhile, one admitted at another door meanwhile, and one
forged. Back online the queue is sent: the uses and the scan log end
exactly as they should, and the two conflicts are on the page and in the
log.
"""

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.scanning.factories import ScannerAccountFactory, paid_ticket
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signing import private_key_from_text, sign_ticket
from ticketshop.scanning.models import ScanLog, ScanResult

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "door-one-password"
OTHER_DOOR = "door-two-password"
VECTORS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "scanning" / "signing_vectors.json"
    ).read_text()
)


@pytest.fixture
def door(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ScannerAccountFactory(name="Door 1", password=make_password(PASSWORD))
    ScannerAccountFactory(name="Door 2", password=make_password(OTHER_DOOR))
    return live_server.url


def payload(ticket, **kwargs):
    return sign_ticket(
        external_id=ticket.external_id, event_id=ticket.event_id, **kwargs
    )


def scan(page, text):
    page.fill("#ticket-id", text)
    page.press("#ticket-id", "Enter")
    expect(page.locator("#result")).to_be_visible()
    kind = page.locator("#result").get_attribute("data-kind")
    offline = page.locator("#result").get_attribute("data-offline")
    title = page.locator("#result-title").inner_text()
    page.click("#next")
    return kind, offline, title


def test_offline_scans_sync_exactly_once_with_conflicts(door, e2e_page, screenshot):
    page = e2e_page
    usual = paid_ticket()
    event = usual.event
    twice = paid_ticket(event=event)
    cancelled = paid_ticket(event=event)
    elsewhere = paid_ticket(event=event)
    forged = payload(
        paid_ticket(event=event),
        key=private_key_from_text(VECTORS["other_private_key"]),
    )

    page.goto(f"{door}/scan/")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")
    status = page.locator("#door-status")
    expect(status).to_have_attribute("data-list-at", re.compile(r"\d{4}-"))
    expect(status).to_contain_text("ticket list from")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.check("#auto-admit")
    assert ScanLog.objects.count() == 0

    page.context.set_offline(True)
    reloaded = page.reload()
    assert reloaded.from_service_worker
    expect(page.locator("#scanner")).to_be_visible()
    expect(status).to_contain_text("Offline")
    expect(status).to_contain_text("ticket list from")
    page.check("#auto-admit")

    # Meanwhile, on the server: one ticket is cancelled, another admitted at
    # the other door.
    Order.objects.filter(pk=cancelled.order_id).update(status=OrderStatus.FAILED_ADMIN)
    other_door = APIClient().put(
        "/validate_ticket/",
        {
            "external_id": elsewhere.external_id,
            "password": OTHER_DOOR,
            "use_ticket": True,
        },
        format="json",
    )
    assert other_door.json()["admitted"] is True

    shown = [
        scan(page, payload(usual)),
        scan(page, payload(twice)),
        scan(page, payload(twice)),
        scan(page, payload(cancelled)),
        scan(page, payload(elsewhere)),
        scan(page, forged),
    ]
    screenshot(page, "offline-queued")

    assert [(kind, offline) for kind, offline, _ in shown] == [
        ("green", "1"),
        ("green", "1"),
        ("amber", "1"),  # auto-admit waits: the volunteer did not admit it
        ("green", "1"),  # the list still says paid
        ("green", "1"),  # this door has not seen the other's use
        ("red", "1"),
    ]
    assert shown[5][2] == "Not a genuine ticket"
    expect(status).to_have_attribute("data-queued", "6")
    # Nothing reached the server while offline.
    assert ScanLog.objects.count() == 1  # the other door's scan

    page.context.set_offline(False)
    expect(status).to_have_attribute("data-queued", "0", timeout=20_000)
    conflicts = page.locator("#conflict-list li")
    expect(conflicts).to_have_count(2)
    expect(page.locator("#conflicts")).to_contain_text(cancelled.external_id)
    expect(page.locator("#conflicts")).to_contain_text(elsewhere.external_id)
    # In words, never the order's raw status.
    expect(page.locator("#conflicts")).to_contain_text("Cancelled ticket")
    expect(page.locator("#conflicts")).to_contain_text("1 use before)")
    expect(page.locator("#conflicts")).not_to_contain_text("FAILED")
    screenshot(page, "synced")

    uses = {
        t.external_id: t.times_used
        for t in (usual, twice, cancelled, elsewhere)
        if not t.refresh_from_db()
    }
    assert uses == {
        usual.external_id: 1,
        twice.external_id: 1,
        cancelled.external_id: 0,
        elsewhere.external_id: 2,
    }
    offline_logs = ScanLog.objects.filter(offline_key__isnull=False).order_by(
        "scanned_at", "id"
    )
    assert [
        (log.external_id[:6], log.result, log.times_used_before, log.conflict)
        for log in offline_logs
    ] == [
        (usual.external_id, ScanResult.ADMITTED, 0, False),
        (twice.external_id, ScanResult.ADMITTED, 0, False),
        (twice.external_id, ScanResult.VALID, 1, False),
        (cancelled.external_id, ScanResult.NOT_PAID, 0, True),
        (elsewhere.external_id, ScanResult.ADMITTED, 1, True),
        (forged[:6], ScanResult.UNKNOWN, None, False),
    ]
    assert all(log.scanner_name == "Door 1" for log in offline_logs)

    # Synced again: the cancelled ticket is refused, now by the server.
    kind, offline, title = scan(page, payload(cancelled))
    assert (kind, offline, title) == ("red", "0", "Cancelled ticket")


def test_page_verifies_the_shared_test_vectors(door, e2e_page):
    page = e2e_page
    page.goto(f"{door}/scan/")
    page.wait_for_function("window.DoorOffline !== undefined")

    supported = page.evaluate("DoorOffline.ed25519Supported()")
    assert supported, "this Chromium has no Ed25519 in WebCrypto"
    valid = page.evaluate(
        "([key, payloads]) => Promise.all(payloads.map("
        "(p) => DoorOffline.verifyPayload(key, p)))",
        [VECTORS["public_key"], [v["payload"] for v in VECTORS["valid"]]],
    )
    assert valid == [
        {"externalId": v["external_id"], "eventId": v["event_id"]}
        for v in VECTORS["valid"]
    ]
    invalid = page.evaluate(
        "([key, payloads]) => Promise.all(payloads.map("
        "(p) => DoorOffline.verifyPayload(key, p)))",
        [VECTORS["public_key"], [v["payload"] for v in VECTORS["invalid"]]],
    )
    assert invalid == [None] * len(VECTORS["invalid"])


def test_failing_server_is_treated_like_no_network(door, e2e_page):
    page = e2e_page
    ticket = paid_ticket()
    page.goto(f"{door}/scan/")
    page.fill("#password", PASSWORD)
    page.click("text=Start scanning")
    expect(page.locator("#door-status")).to_have_attribute(
        "data-list-at", re.compile(r"\d{4}-")
    )
    page.check("#auto-admit")
    page.route(
        re.compile(r".*/(validate_ticket|scan/check)/?$"),
        lambda route: route.fulfill(status=503, body='"Busy"'),
    )

    kind, offline, _title = scan(page, payload(ticket))

    assert (kind, offline) == ("green", "1")
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    page.unroute(re.compile(r".*/(validate_ticket|scan/check)/?$"))
    page.evaluate("window.ticketScanner.sync()")
    expect(page.locator("#door-status")).to_have_attribute("data-queued", "0")
    ticket.refresh_from_db()
    assert ticket.times_used == 1
