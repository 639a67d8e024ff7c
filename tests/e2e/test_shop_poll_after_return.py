"""Back from the Swish app, the pay page asks for the payment at once and
then a second later again, not after the long pause its back-off had
reached: the shop reads Swish in its worker after Swish's callback, so the
payment is often settled a moment after the buyer is back, not at that
first ask.

The page's timers run on Playwright's clock, moved on by hand in small
steps, each once the page's last ask has been answered; the page notes the
clock's time of each ask. The buyer's return is the tab becoming visible
again (``visibilitychange``). The old page asked 7.6 s after the return."""

import re

from playwright.sync_api import expect

from tests.e2e.shop_fixtures import *  # noqa: F403
from tests.e2e.shop_fixtures import fill_order, make_event, shop_e2e

pytestmark = shop_e2e

# Each ask of session_payment_status, by the page's (test-driven) clock,
# and how many of its requests are still unanswered.
NOTE_ASKS = """
window.__asks = [];
window.__open = 0;
const fetchBefore = window.fetch;
window.fetch = async (...args) => {
  if (String(args[0]).includes("session_payment_status")) {
    window.__asks.push(Date.now());
  }
  window.__open += 1;
  try {
    const response = await fetchBefore(...args);
    await response.clone().text();
    return response;
  } finally {
    window.__open -= 1;
  }
};
"""
CAME_BACK = "document.dispatchEvent(new Event('visibilitychange'))"
STEP_MS = 100


def asks(page) -> list[int]:
    return page.evaluate("window.__asks")


def settled(page) -> None:
    """The page's asks are answered and its next pause is set."""
    page.wait_for_function("window.__open === 0")
    page.wait_for_timeout(30)


def advance(page, ms: int) -> None:
    for _ in range(ms // STEP_MS):
        settled(page)
        page.clock.run_for(STEP_MS)
    settled(page)


def test_the_pay_page_asks_a_second_after_the_buyer_is_back(shop_page, snap):
    page = shop_page
    event, _ = make_event(title="Kårspexet")
    page.goto(f"/events/{event.id}/")
    fill_order(page, {"Standardbiljett": 1})
    page.get_by_role("button", name="Reservera biljetter").click()
    page.get_by_role("button", name="Betala med Swish").click()
    expect(page).to_have_url(re.compile(r"/pay/$"))

    # The pay page again, its timers on the test's clock.
    page.add_init_script(NOTE_ASKS)
    page.clock.install()
    page.reload()
    expect(page.locator("#pay-poll-status")).to_contain_text("Väntar på betalningen")
    # Away in the Swish app for 10 s: the pauses grow (1, 1.5, 2.25, 3.4 s).
    advance(page, 10_000)
    away = asks(page)
    gaps = [b - a for a, b in zip(away[1:], away[2:], strict=False)]
    assert len(gaps) >= 3 and gaps[-1] >= 3_000, away
    snap(page, "waiting-while-away")

    # Back: asked at once, and again about a second later.
    back = len(away)
    page.evaluate(CAME_BACK)
    page.wait_for_function(f"window.__asks.length > {back}")
    advance(page, 3_000)
    after = asks(page)[back:]
    assert len(after) >= 2, after
    assert after[1] - after[0] < 2_500, after
    expect(page.locator("#pay-poll-status")).to_contain_text("Väntar på betalningen")
    snap(page, "waiting-after-coming-back")
