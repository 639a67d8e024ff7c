"""The admin login's lockout page, in a browser on a phone and a desktop.

Ten wrong passwords in the admin's own login form: the page says, in
Swedish (or English for an English browser), that logging in is locked for
15 minutes; nothing on it is wider than the screen.
"""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, shop_e2e

pytestmark = shop_e2e


@pytest.fixture
def organiser(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_superuser(
        "organiser", "organiser@example.org", "a-long-admin-password-1"
    )


@pytest.mark.parametrize(
    "locale,text",
    [
        ("sv-SE", "inloggningen är spärrad i 15 minuter"),
        ("en-GB", "logging in is locked for 15 minutes"),
    ],
)
def test_lockout_page_says_for_how_long(
    e2e_browser, shop_server, device, snap, organiser, locale, text
):
    context = e2e_browser.new_context(
        base_url=shop_server.url, locale=locale, **DEVICES[device]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        for attempt in range(10):
            page.goto("/admin/login/")
            page.locator("#id_username").fill("organiser")
            page.locator("#id_password").fill(f"guess {attempt}")
            page.locator("input[type=submit]").click()
            page.wait_for_load_state()

        expect(page.locator("#lockout-message")).to_contain_text(text)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"]
        snap(page, f"lockout-{locale}")
    finally:
        context.close()
