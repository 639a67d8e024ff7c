"""Back from the Swish app, the pay page asks for the payment at once and
then every second again, not at the long pause its back-off had reached:
the shop reads Swish in its worker after Swish's callback, so the payment
is often settled a moment after the buyer is back, not at that first ask.

The page's timers run on Playwright's clock, moved on by hand; the buyer's
return is the tab becoming visible again (``visibilitychange``)."""

import re

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e

pytestmark = shop_e2e

STATUS = re.compile(r"/session_payment_status/$")
CAME_BACK = "document.dispatchEvent(new Event('visibilitychange'))"


def asks(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if STATUS.search(r.url) else None)
    return seen


def test_the_pay_page_asks_every_second_again_after_the_buyer_is_back(shop_page, snap):
    page = shop_page
    event, _ = make_event(title="Kårspexet")
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 1})
    page.get_by_role("button", name="Reservera biljetter").click()
    page.get_by_role("button", name="Betala med Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))

    # The pay page again, its timers on the test's clock.
    page.clock.install()
    seen = asks(page)
    with page.expect_response(STATUS):
        page.reload()
    expect(page.locator("#pay-poll-status")).to_contain_text("Väntar på betalningen")
    first = len(seen)
    # Away in the Swish app: asks after 1, 2.5, 4.75 and 8.1 s; the next
    # pause is 5.1 s.
    for _ in range(4):
        with page.expect_response(STATUS):
            page.clock.run_for(3_400)
    assert len(seen) == first + 4
    snap(page, "waiting-while-away")

    # Back: asked at once, and a second later again (not 7.6 s later).
    with page.expect_response(STATUS):
        page.evaluate(CAME_BACK)
    with page.expect_response(STATUS, timeout=5_000):
        page.clock.run_for(1_050)
    assert len(seen) == first + 6
    # From there the back-off starts over: 1.5 s, then 2.25 s.
    with page.expect_response(STATUS, timeout=5_000):
        page.clock.run_for(1_550)
    page.clock.run_for(2_000)
    assert len(seen) == first + 7
    with page.expect_response(STATUS, timeout=5_000):
        page.clock.run_for(300)
    expect(page.locator("#pay-poll-status")).to_contain_text("Väntar på betalningen")
    snap(page, "waiting-after-coming-back")
