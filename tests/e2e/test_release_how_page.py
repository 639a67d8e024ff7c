"""The buyers' "how the release works" page at phone width, in Swedish and
English: it says when the confirmation link comes, its code block (the
draw's recipe) scrolls inside itself instead of widening the page, and axe
finds no serious violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import require_axe, serious_violations
from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import DEVICES, shop_e2e

pytestmark = shop_e2e

TEXTS = {
    "sv-SE": ("Så fungerar försäljningsstarten", "När det är din tur mejlar vi"),
    "en-GB": ("How the release works", "When your turn comes we e-mail you"),
}


@pytest.mark.parametrize("locale", list(TEXTS))
def test_the_page_fits_a_phone_and_says_when_the_link_comes(
    e2e_browser, shop_server, locale
):
    require_axe()
    title, link_text = TEXTS[locale]
    context = e2e_browser.new_context(
        base_url=shop_server.url, locale=locale, **DEVICES["phone"]
    )
    page = context.new_page()
    try:
        page.goto("/queue/how-it-works/")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.get_by_text(link_text)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= DEVICES["phone"]["viewport"]["width"]
        recipe = page.locator("pre")
        assert recipe.evaluate("e => e.scrollWidth > e.clientWidth")  # scrolls
        page.wait_for_load_state("networkidle")
        found = serious_violations(page)
        assert found == [], "\n".join(found)
    finally:
        context.close()
