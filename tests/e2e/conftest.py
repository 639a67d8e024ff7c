"""Shared browser fixtures: Playwright's sync API driving Debian's Chromium.

Playwright never downloads a browser here: it launches /usr/bin/chromium
(``apt-get install chromium``), and every test using these fixtures skips
when that is missing. Screenshots go to tests/e2e/screenshots/ (git-ignored).

Fixtures: ``e2e_browser`` (one headless Chromium per test module), ``e2e_page``
(a fresh context and page per test, screenshot saved when the test fails) and
``screenshot`` (save a named screenshot of a page). ``launch_browser`` starts
a browser with extra flags for a test that needs them (a fake camera).
"""

from collections.abc import Iterable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
_REPORTS = pytest.StashKey[dict]()


def launch_chromium(playwright, extra_args: Iterable[str] = ()):
    """Launch Debian's Chromium headless with the flags every test uses."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, *extra_args],
    )


@pytest.fixture(scope="module")
def e2e_playwright(django_db_setup):
    """Playwright for one test module, after the test database exists.

    Playwright's sync API keeps an asyncio event loop running in this thread
    while it is active, and Django's async-unsafe check then refuses every
    ORM call from the test itself (SynchronousOnlyOperation), although no
    coroutine ever touches the database. DJANGO_ALLOW_ASYNC_UNSAFE lifts the
    check for this module only; Playwright is stopped before other modules run.
    """
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            yield playwright


@pytest.fixture(scope="module")
def e2e_browser(e2e_playwright):
    browser = launch_chromium(e2e_playwright)
    yield browser
    browser.close()


@pytest.fixture
def launch_browser(e2e_playwright):
    """Return launch(extra_args): a Chromium of its own, closed after the test."""
    browsers = []

    def launch(extra_args: Iterable[str] = ()):
        browser = launch_chromium(e2e_playwright, extra_args)
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture
def screenshot(request):
    """Return save(page, name): a PNG under screenshots/<test name>/."""
    folder = SCREENSHOTS / request.node.name.replace("/", "_")

    def save(page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def e2e_page(request, e2e_browser, screenshot):
    """A fresh browser context and page; a screenshot is kept if the test fails."""
    context = e2e_browser.new_context(viewport={"width": 412, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = request.node.stash.get(_REPORTS, {}).get("call")
    if report is not None and report.failed:
        screenshot(page, "failure")
    context.close()


@pytest.fixture(autouse=True)
def _no_simulator_job_outlives_its_test():
    """The Swish simulator's background jobs (a payer's delayed answer, a
    callback, a refund's steps) are the live server's, shared by every test of
    a run: forget those not yet due and let the running ones finish, so none
    acts on the next test's orders."""
    yield
    from ticketshop.swish_simulator.background import scheduler

    scheduler.clear()
    assert scheduler.wait_idle(timeout=20)
