"""Every money field refuses non-finite and out-of-range amounts with a form
error in the organiser's language (or a clear import error), never a 500
and never a stored value that later breaks a page."""

import json

import pytest
from django.core.management import CommandError
from django.urls import reverse

from tests.events.test_import_events import VALID, run_import
from ticketshop.events.models import TicketType
from ticketshop.orders.models import Order

pytestmark = pytest.mark.django_db

BAD = ["1e30", "NaN", "Infinity", "-Infinity", "sNaN", "1000000.01", "12.345", "-1"]


@pytest.mark.parametrize("price", BAD)
def test_the_issue_form_refuses_a_bad_cash_price(client, organiser, show, price):
    event, (standard, _) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    form = {
        f"count_{offer.pk}": "1",
        "name": "Kassa",
        "email": "kassa@example.org",
        "method": "CASH",
        f"price_{offer.pk}": price,
    }
    english = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400
    assert "Price of" in english.content.decode()
    swedish = client.post(url, form, HTTP_ACCEPT_LANGUAGE="sv")
    assert swedish.status_code == 400
    assert "Pris för" in swedish.content.decode()
    assert Order.objects.count() == 0


def test_the_issue_form_takes_a_swedish_decimal_comma(client, organiser, show):
    event, (standard, _) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    form = {
        f"count_{offer.pk}": "1",
        "name": "Kassa",
        "email": "kassa@example.org",
        "method": "CASH",
        f"price_{offer.pk}": "99,50",
    }
    assert client.post(url, form).status_code == 302
    assert str(Order.objects.get().total_price) == "99.50"


@pytest.mark.parametrize("price", ["1e30", "NaN", "Infinity", "1000001"])
def test_the_admin_refuses_a_bad_ticket_price(admin_client, price):
    url = reverse("admin:events_tickettype_add")
    response = admin_client.post(url, {"title": "Dyr", "price": price, "visible": "on"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["price"]
    assert not TicketType.objects.exists()


@pytest.mark.parametrize("price", ["1e30", 1e30, "NaN", "1000000.5", 10**40])
def test_an_import_refuses_a_bad_price(tmp_path, price):
    data = json.loads(json.dumps(VALID))
    data["ticket_types"][0]["price"] = price
    with pytest.raises(CommandError, match="'price'"):
        run_import(tmp_path, data)
    assert not TicketType.objects.exists()


def test_an_import_with_a_nan_literal_is_refused(tmp_path):
    text = json.dumps(VALID).replace('"price": "199"', '"price": NaN', 1)
    if text == json.dumps(VALID):
        pytest.skip("the sample file spells its price differently")
    with pytest.raises(CommandError, match="'price'"):
        run_import(tmp_path, text)
