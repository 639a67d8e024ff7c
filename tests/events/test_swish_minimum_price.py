"""A ticket costs 0 kr or at least Swish's minimum, never in between: Swish
refuses smaller amounts (AM06), so such a ticket could never be paid."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import translation

from ticketshop.events.models import ChapterEvent, TicketType

pytestmark = pytest.mark.django_db

# Some years ahead of whenever the suite runs.
FUTURE_YEAR = datetime.now(UTC).year + 4

FILE = {
    "ticket_types": [{"key": "cheap", "title": "Billig", "price": "0.50"}],
    "events": [
        {
            "title": "Spex",
            "event_at": f"{FUTURE_YEAR}-12-05T19:00:00+01:00",
            "sales_stop_at": f"{FUTURE_YEAR}-12-05T18:00:00+01:00",
            "seats": 10,
            "ticket_types": ["cheap"],
        }
    ],
}


def _file(tmp_path, price):
    data = copy.deepcopy(FILE)
    data["ticket_types"][0]["price"] = price
    path = tmp_path / "events.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("sv", "En biljett kostar 0 kr (gratis) eller minst 1.00 kr"),
        ("en", "A ticket costs 0 kr (free) or at least 1.00 kr"),
    ],
)
@pytest.mark.parametrize("price", ["0.50", "0.01", "0.99"])
def test_import_refuses_a_price_below_swish_minimum_and_creates_nothing(
    tmp_path, price, language, sentence
):
    with translation.override(language), pytest.raises(CommandError) as caught:
        call_command("import_events", _file(tmp_path, price))
    assert sentence in str(caught.value)
    assert "ticket_types[0]" in str(caught.value)
    assert not TicketType.objects.exists()
    assert not ChapterEvent.objects.exists()


@pytest.mark.parametrize("price", ["0", "0.00", "1", "1.00", "99.50"])
def test_import_accepts_free_and_swish_payable_prices(tmp_path, price):
    call_command("import_events", _file(tmp_path, price), stdout=StringIO())
    assert TicketType.objects.get().price == Decimal(price)


def test_minimum_follows_the_setting(tmp_path, settings):
    settings.SWISH_MIN_AMOUNT = Decimal("2.00")
    with pytest.raises(CommandError, match="2.00 kr"):
        call_command("import_events", _file(tmp_path, "1.50"))


@pytest.fixture
def organiser_client(client):
    user = get_user_model().objects.create_superuser("org", "", "pw-for-tests-123")
    client.force_login(user)
    return client


def _add_type(client, price, language):
    return client.post(
        "/admin/events/tickettype/add/",
        {"title": "Billig", "description": "", "price": price, "visible": "on"},
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("sv", "En biljett kostar 0 kr (gratis) eller minst 1.00 kr"),
        ("en", "A ticket costs 0 kr (free) or at least 1.00 kr"),
    ],
)
def test_admin_refuses_a_price_below_swish_minimum(
    organiser_client, language, sentence
):
    response = _add_type(organiser_client, "0.50", language)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert sentence in errors["price"][0]
    assert not TicketType.objects.exists()


def test_admin_refuses_lowering_an_existing_price_below_the_minimum(
    organiser_client,
):
    assert _add_type(organiser_client, "50", "en").status_code == 302
    ticket_type = TicketType.objects.get()
    response = organiser_client.post(
        f"/admin/events/tickettype/{ticket_type.pk}/change/",
        {"title": "Billig", "description": "", "price": "0.10", "visible": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    ticket_type.refresh_from_db()
    assert ticket_type.price == Decimal("50")


@pytest.mark.parametrize("price", ["0", "1.00", "199"])
def test_admin_accepts_free_and_swish_payable_prices(organiser_client, price):
    assert _add_type(organiser_client, price, "en").status_code == 302
    assert TicketType.objects.get().price == Decimal(price)
