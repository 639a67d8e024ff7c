"""The back office's forms in a real browser, Swedish and English, at phone
width: issue (errors, then tickets issued), correct an address (refused,
then changed), exchange back to cheaper tickets of an order owing money at
the door (the preview says it comes off what is due there), mass e-mail
without an event, and cancel. Screenshots of each under tests/e2e/screenshots/.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.test_backoffice_previews import open_page, organiser, show  # noqa: F401
from tests.factories import event_with_types
from ticketshop.backoffice import services
from ticketshop.backoffice.models import AuditEntry
from ticketshop.orders.models import Order, PaymentMethod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "sv": {
        "no_ticket": "Välj minst en biljett",
        "issued": "utfärdad",
        "bad_address": "en domän som tar emot e-post",
        "changed": "E-post ändrad till ny@example.org",
        "door": "dras av från det som ska betalas i dörren",
        "no_event": "Välj minst ett evenemang",
        "cancel": "Avboka",
    },
    "en": {
        "no_ticket": "Choose at least one ticket",
        "issued": "issued",
        "bad_address": "a domain that receives mail",
        "changed": "E-mail changed to ny@example.org",
        "door": "comes off what is due at the door",
        "no_event": "Choose at least one event",
        "cancel": "Cancel",
    },
}


def no_sideways_scroll(page) -> None:
    """The page fits the phone's width (nothing to scroll sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_back_office_forms_at_phone_width(
    open_page,  # noqa: F811
    organiser,  # noqa: F811
    show,  # noqa: F811
    live_server,
    screenshot,
    lang,
):
    event, (standard, _) = show
    words = WORDS[lang]
    page = open_page(lang, "phone")
    base = f"{live_server.url}/admin/backoffice/salesoverview"

    # Issue: nothing chosen, nobody named: the form says so, nothing issued.
    page.goto(f"{base}/event/{event.pk}/issue/")
    page.locator("#id_name").evaluate("e => e.removeAttribute('required')")
    page.locator("#id_email").evaluate("e => e.removeAttribute('required')")
    page.click("#issue-form input[type=submit]")
    expect(page.locator("#errors")).to_contain_text(words["no_ticket"])
    no_sideways_scroll(page)
    screenshot(page, f"issue-errors-{lang}")
    assert not Order.objects.exists()
    page.fill(f"input[name=count_{event.offers.get(ticket_type=standard).pk}]", "2")
    page.fill("#id_name", "Åsa Öberg")
    page.fill("#id_email", "asa@example.org")
    page.select_option("#id_method", PaymentMethod.CASH)
    page.click("#issue-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text(words["issued"])
    order = Order.objects.get()

    # Correct the address: a bad one is refused, a good one changed.
    page.goto(f"{base}/order/{order.pk}/fix/")
    page.locator("#id_email").evaluate("e => e.type = 'text'")
    page.fill("#id_email", "asa@@example")
    page.click("#email-form input[type=submit]")
    expect(page.locator(".bo-errors")).to_contain_text(words["bad_address"])
    no_sideways_scroll(page)
    screenshot(page, f"fix-refused-{lang}")
    page.fill("#id_email", "ny@example.org")
    page.click("#email-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text(words["changed"])
    screenshot(page, f"fix-changed-{lang}")

    # Exchange to a dearer night, then back: the preview counts what is due
    # at the door as the exchange does.
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=later.pk,
        type_map={standard.pk: dear.pk},
    )
    order.refresh_from_db()
    assert order.due_at_door == Decimal("100")
    page.goto(f"{base}/order/{order.pk}/exchange/?event={event.pk}")
    page.click("#preview-button")
    expect(page.locator("#difference")).to_contain_text(words["door"])
    no_sideways_scroll(page)
    screenshot(page, f"exchange-door-{lang}")

    # Mass e-mail without an event: refused in words.
    page.goto(f"{base}/mailing/")
    page.fill("#id_subject", "Hej")
    page.fill("#id_body", "Text")
    page.locator(
        "form.bo-form input[type=submit], form.bo-form button[type=submit]"
    ).first.click()
    expect(page.locator(".bo-errors, .errorlist").first).to_contain_text(
        words["no_event"]
    )
    no_sideways_scroll(page)
    screenshot(page, f"mailing-refused-{lang}")

    # Cancel: the page offers the order's tickets.
    page.goto(f"{base}/order/{order.pk}/cancel/")
    expect(page.locator("h1")).to_contain_text(words["cancel"])
    no_sideways_scroll(page)
    screenshot(page, f"cancel-{lang}")
    assert AuditEntry.objects.filter(order=order, action="change_email").exists()
