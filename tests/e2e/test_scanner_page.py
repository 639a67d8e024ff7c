"""The door scanner page in a real browser: password, then green, amber, red."""

import re

import pytest
import segno
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from tests.scanning.factories import (
    OrderFactory,
    ScannerAccountFactory,
    TicketFactory,
    paid_ticket,
)
from ticketshop.orders.models import OrderStatus
from ticketshop.scanning import views as scanning_views
from ticketshop.scanning.views import qr_library_available

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "door-password-e2e"


@pytest.fixture
def door(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ScannerAccountFactory(name="Entrance", password=make_password(PASSWORD))
    return live_server.url


def log_in(page, url, password=PASSWORD):
    page.goto(f"{url}/scan/")
    page.fill("#password", password)
    page.click("text=Start scanning")


def enter(page, external_id):
    """Type an id and Enter, as a hand-held scanner does."""
    page.fill("#ticket-id", external_id)
    page.press("#ticket-id", "Enter")


def test_typed_ids_show_green_then_amber_then_red(door, e2e_page, screenshot):
    page = e2e_page
    ticket = paid_ticket()
    log_in(page, door)
    expect(page.locator("#scanner")).to_be_visible()
    page.check("#auto-admit")

    enter(page, ticket.external_id.lower())
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(result).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-title")).to_have_text("OK, first use")
    expect(page.locator("#result-ticket")).to_have_text(ticket.external_id)
    screenshot(page, "1-green")

    # Auto-admit never lets a used ticket in by itself: amber, and it waits.
    enter(page, ticket.external_id)
    expect(result).to_have_class(re.compile(r"\bamber\b"))
    expect(page.locator("#result-title")).to_have_text("Already used once")
    expect(page.locator("#admit")).to_be_visible()
    screenshot(page, "2-amber")
    ticket.refresh_from_db()
    assert ticket.times_used == 1
    page.click("#admit")
    expect(page.locator("#admit")).to_be_hidden()

    enter(page, "NOSUCH")
    expect(result).to_have_class(re.compile(r"\bred\b"))
    expect(page.locator("#result-title")).to_have_text("Unknown ticket")
    screenshot(page, "3-red")

    ticket.refresh_from_db()
    assert ticket.times_used == 2


def test_check_then_admit_button_records_one_use(door, e2e_page, screenshot):
    page = e2e_page
    ticket = paid_ticket()
    log_in(page, door)

    enter(page, ticket.external_id)
    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-title")).to_have_text("Valid, not yet used")
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    screenshot(page, "1-checked")

    page.click("#admit")
    expect(page.locator("#result-title")).to_have_text("Admitted")
    expect(page.locator("#admit")).to_be_hidden()
    ticket.refresh_from_db()
    assert ticket.times_used == 1

    page.click("#next")
    expect(page.locator("#result")).to_be_hidden()
    enter(page, ticket.external_id)
    expect(page.locator("#result")).to_have_class(re.compile(r"\bamber\b"))
    expect(page.locator("#admit")).to_be_visible()


def test_unpaid_ticket_is_red_and_never_admitted(door, e2e_page):
    page = e2e_page
    ticket = TicketFactory(order=OrderFactory(status=OrderStatus.RESERVED))
    log_in(page, door)
    page.check("#auto-admit")

    enter(page, ticket.external_id)

    expect(page.locator("#result")).to_have_class(re.compile(r"\bred\b"))
    expect(page.locator("#result-title")).to_have_text("Not paid")
    expect(page.locator("#admit")).to_be_hidden()
    ticket.refresh_from_db()
    assert ticket.times_used == 0


def test_wrong_password_stays_on_the_password_form(door, e2e_page, screenshot):
    page = e2e_page

    log_in(page, door, password="not it")

    expect(page.locator("#login-error")).to_have_text("Wrong password")
    expect(page.locator("#scanner")).to_be_hidden()
    screenshot(page, "wrong-password")


NO_LIBRARY = "the QR library is not installed (make qr-library needs npm)"


def native_qr_reader(page) -> bool:
    """Whether this browser itself reads QR codes (BarcodeDetector)."""
    return page.evaluate(
        """async () => "BarcodeDetector" in window
            && (await window.BarcodeDetector.getSupportedFormats())
                .includes("qr_code")"""
    )


@pytest.mark.parametrize("installed", [True, False], ids=["library", "no-library"])
def test_page_says_which_camera_reader_it_uses(door, e2e_page, monkeypatch, installed):
    if installed and not qr_library_available():
        pytest.skip(NO_LIBRARY)
    if not installed:
        # As on a server where npm could not fetch the library.
        monkeypatch.setattr(scanning_views, "qr_library_available", lambda: False)
    page = e2e_page
    log_in(page, door)

    capabilities = page.locator("#capabilities")
    expect(capabilities).to_contain_text("hand-held scanners")
    if native_qr_reader(page):
        expected, text = "native", "point it at a ticket's QR code."
    elif installed:
        expected, text = "library", "barcode-detector library"
    else:
        expected, text = "none", "cannot read QR codes with the camera"
    expect(capabilities).to_have_attribute("data-reader", expected)
    expect(capabilities).to_contain_text(text)
    expect(page.locator("#camera-toggle")).to_be_visible(visible=expected != "none")


def qr_video(path, text: str, *, width=640, height=480, frames=10, scale=12):
    """Write a Y4M video that shows the QR code of text, for a fake camera."""
    matrix = segno.make(text, error="m", micro=False).matrix
    border = 4
    size = (len(matrix) + 2 * border) * scale
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xff" * (width * height))
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if not dark:
                continue
            y0 = top + (row_index + border) * scale
            x0 = left + (col_index + border) * scale
            for y in range(y0, y0 + scale):
                luma[y * width + x0 : y * width + x0 + scale] = b"\x00" * scale
    chroma = b"\x80" * (width // 2 * height // 2)
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


@pytest.mark.skipif(not qr_library_available(), reason=NO_LIBRARY)
def test_camera_reads_a_ticket_qr_code(door, launch_browser, tmp_path, screenshot):
    ticket = paid_ticket()
    video = tmp_path / "ticket.y4m"
    qr_video(video, ticket.external_id)
    browser = launch_browser(
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
    )
    context = browser.new_context(viewport={"width": 412, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, door)
    page.check("#auto-admit")
    expect(page.locator("#capabilities")).to_have_attribute(
        "data-reader", re.compile("native|library")
    )

    page.click("#camera-toggle")

    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-title")).to_have_text("OK, first use")
    expect(page.locator("#result-ticket")).to_have_text(ticket.external_id)
    screenshot(page, "camera-green")
    ticket.refresh_from_db()
    assert ticket.times_used == 1


@pytest.mark.skipif(
    not qr_library_available(),
    reason="the QR library is not installed (make qr-library needs npm)",
)
def test_camera_reads_a_signed_ticket_qr_code(door, launch_browser, tmp_path):
    from ticketshop.orders.signing import sign_ticket

    ticket = paid_ticket()
    video = tmp_path / "signed.y4m"
    qr_video(
        video,
        sign_ticket(external_id=ticket.external_id, event_id=ticket.event_id),
        scale=6,
    )
    browser = launch_browser(
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
    )
    page = browser.new_context(viewport={"width": 412, "height": 860}).new_page()
    page.set_default_timeout(20_000)
    log_in(page, door)
    page.check("#auto-admit")
    expect(page.locator("#capabilities")).to_have_attribute(
        "data-reader", re.compile("native|library")
    )

    page.click("#camera-toggle")

    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-ticket")).to_have_text(ticket.external_id)
    ticket.refresh_from_db()
    assert ticket.times_used == 1
