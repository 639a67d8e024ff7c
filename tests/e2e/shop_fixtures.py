"""Browser fixtures of the shop's end-to-end tests (Playwright + Debian's Chromium).

Built on conftest.py's ``e2e_browser`` (one headless Debian Chromium per
module). Import the fixtures into a test module with
``from tests.e2e.shop_fixtures import *  # noqa: F403``.
Each test runs once as a phone (390x844, touch, a phone's user agent) and
once as a desktop (1280x800) and saves a screenshot of each step under
tests/e2e/screenshots/<test>/ (git-ignored).
"""

import re
from pathlib import Path

import pytest

from tests.payments.conftest import swish_reads_worker

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DEVICES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "user_agent": PHONE_USER_AGENT,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

shop_e2e = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(params=list(DEVICES))
def device(request):
    return request.param


@pytest.fixture
def shop_server(live_server, settings):
    """The live server, paying through its own Swish simulator, and a task
    worker's thread that reads payments from it."""
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SWISH_API_URL = ""
    settings.SWISH_CALLBACK_URL = ""
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = None
    settings.LANGUAGE_CODE = "sv"
    # A worker reads each payment when its callback comes (payments/reads.py).
    with swish_reads_worker():
        yield live_server


@pytest.fixture
def shop_page(e2e_browser, shop_server, device):
    """A fresh browser page (own cookies) on the live server, in Swedish."""
    context = e2e_browser.new_context(
        base_url=shop_server.url,
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        **DEVICES[device],
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def snap(request, device):
    """Save a full-page screenshot of the current step."""
    folder = SCREENSHOTS / re.sub(r"[^\w-]", "_", request.node.originalname)
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def snap(page, step: str) -> Path:
        counter["n"] += 1
        path = folder / f"{device}-{counter['n']:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return snap


def fill_order(page, counts: dict[str, int], email: str = "kalle@example.com"):
    """Choose tickets by their titles, type the e-mail twice, accept the terms."""
    for title, count in counts.items():
        for _ in range(count):
            page.get_by_role("button", name=f"En {title} till").click()
    page.get_by_label("E-postadress", exact=True).fill(email)
    page.get_by_label("E-postadressen igen").fill(email)
    page.get_by_label("Jag godkänner köpvillkoren").check()


def make_event(*, title, seats=100, types=(("Standardbiljett", "199"),), **kwargs):
    """An event on sale with named, visible ticket types."""
    from decimal import Decimal

    from tests.factories import (
        ChapterEventFactory,
        TicketOfferFactory,
        TicketTypeFactory,
    )

    event = ChapterEventFactory(
        title=title,
        seats=seats,
        description=kwargs.pop("description", f"{title}: en kväll att minnas."),
        **kwargs,
    )
    ticket_types = []
    for name, price in types:
        ticket_type = TicketTypeFactory(
            title=name, price=Decimal(price), description=f"{name}."
        )
        TicketOfferFactory(event=event, ticket_type=ticket_type)
        ticket_types.append(ticket_type)
    return event, ticket_types


def hold_seats(event, ticket_type, count, *, paid=False):
    """Reserve seats as other buyers would (and mark them paid)."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from tests.factories import reserve_tickets
    from ticketshop.orders.models import Order, OrderStatus
    from ticketshop.orders.services import TicketLine

    orders = []
    while count > 0:
        n = min(count, event.max_tickets_per_payment)
        orders.append(
            reserve_tickets(
                session=SessionStore(),
                event_id=event.id,
                lines=[TicketLine(ticket_type_id=ticket_type.id, count=n)],
            )
        )
        count -= n
    if paid:
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(
            status=OrderStatus.PAID
        )
    return orders
