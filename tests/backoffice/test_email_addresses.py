"""Every way an address enters the shop takes only what a mail server would:
start_payment (the API), issuing tickets, correcting an order's address and
the order's admin page. A refused address writes nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.factories import event_with_types
from tests.orders.test_admin_lifecycle import _form_values
from ticketshop.backoffice.models import AuditEntry
from ticketshop.orders.addresses import validate_email_address
from ticketshop.orders.models import Order
from ticketshop.payments.models import SwishPayment

from .conftest import issue

pytestmark = pytest.mark.django_db

LONG_DOMAIN = ".".join(["a" * 63] * 4) + ".se"

# (address, why a mail server refuses it, words of the English form error)
REFUSED = [
    ("a" * 65 + "@example.se", "local part over 64", "too long"),
    ("x@" + LONG_DOMAIN, "address over 254", "too long"),
    ("x@[127.0.0.1]", "IP literal", "not an IP address"),
    ("root@localhost", "local host", "not a local host name"),
    ("kalle@intranet", "single-label domain", "not a local host name"),
    ("kalle@shop.local", "special-use domain", "not a local host name"),
    ("buyer@example.com\u200b", "trailing zero-width space", "invisible"),
    ("\u200bbuyer@example.com", "leading zero-width space", "invisible"),
    ("buy\u200der@example.com", "zero-width joiner inside", "invisible"),
    ("\u202ebuyer@example.com", "right-to-left override", "invisible"),
    ("buyer\r\n@example.com", "line break", "invisible"),
    ("buyer@exa mple.com", "space inside", "valid e-mail address"),
    ("rätt@example.org", "letter outside a-z before the @", "no å, ä, ö"),
    ("buyer.example.com", "no @", "valid e-mail address"),
]
IDS = [why for _address, why, _words in REFUSED]


@pytest.mark.parametrize(("address", "why", "words"), REFUSED, ids=IDS)
def test_start_payment_refuses_the_address_and_writes_nothing(
    post_json, address, why, words
):
    event, (standard,) = event_with_types(prices=("0",))
    reserve = {
        "chapter_event": event.id,
        "tickets": [{"ticket_type": standard.id, "count": 1}],
    }
    assert post_json("/reserve_ticket/", reserve).status_code == 201

    response = post_json("/start_payment/", {"email_address": address})

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    order = Order.objects.get()
    assert (order.email, order.payment_pending, order.paid_at) == ("", False, None)
    assert not SwishPayment.objects.exists()


def test_start_payment_keeps_the_address_as_typed_without_surrounding_space(
    post_json,
):
    event, (standard,) = event_with_types(prices=("0",))
    reserve = {
        "chapter_event": event.id,
        "tickets": [{"ticket_type": standard.id, "count": 1}],
    }
    assert post_json("/reserve_ticket/", reserve).status_code == 201

    response = post_json("/start_payment/", {"email_address": " Bo.Berg@Kth.SE "})

    assert response.status_code == 200
    assert Order.objects.get().email == "Bo.Berg@Kth.SE"


@pytest.mark.parametrize(("address", "why", "words"), REFUSED, ids=IDS)
def test_issuing_tickets_refuses_the_address_with_a_form_error(
    client, organiser, show, address, why, words
):
    event, (standard, _student) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    form = {
        f"count_{offer.pk}": "1",
        "name": "Gäst",
        "email": address,
        "method": "COMPLIMENTARY",
    }

    response = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Order.objects.exists()


def test_issuing_tickets_says_why_in_swedish(client, organiser, show):
    event, (standard, _student) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    form = {f"count_{offer.pk}": "1", "name": "Gäst", "email": "root@localhost"}

    response = client.post(url, form, HTTP_ACCEPT_LANGUAGE="sv")

    assert response.status_code == 400
    assert "inte ett lokalt värdnamn" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(("address", "why", "words"), REFUSED, ids=IDS)
def test_changing_an_orders_address_refuses_it_and_changes_nothing(
    client, organiser, show, address, why, words
):
    event, (standard, _student) = show
    order = issue(organiser, event, {standard.pk: 1}, email="ratt@example.org")
    client.force_login(organiser)
    url = reverse("admin:backoffice_fix", args=[order.pk])

    response = client.post(url, {"email": address}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert words in response.content.decode()
    order.refresh_from_db()
    assert order.email == "ratt@example.org"
    assert not AuditEntry.objects.filter(action="change_email").exists()


@pytest.mark.parametrize(
    "address", ["root@localhost", "x@[127.0.0.1]", "buyer@example.com\u200b"]
)
def test_the_order_admin_page_refuses_the_address(client, show, address):
    event, (standard, _student) = show
    admin_user = User.objects.create_superuser("root", "root@example.org", "pw")
    order = issue(admin_user, event, {standard.pk: 1}, email="gast@example.org")
    client.force_login(admin_user)
    url = reverse("admin:orders_order_change", args=[order.pk])
    form = {**_form_values(client.get(url)), "email": address}

    response = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200  # the form again, with its error
    assert "errorlist" in response.content.decode()
    order.refresh_from_db()
    assert order.email == "gast@example.org"


@pytest.mark.parametrize(("address", "why", "words"), REFUSED, ids=IDS)
def test_the_service_refuses_what_the_forms_refuse(
    organiser, show, address, why, words
):
    from django.core.exceptions import ValidationError

    event, (standard, _student) = show
    with pytest.raises(ValidationError):
        issue(organiser, event, {standard.pk: 1}, email=address)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" Bo.Berg@Kth.SE\n", "Bo.Berg@Kth.SE"),
        ("asa@exämple.se", "asa@exämple.se"),
        ("=cmd|'/Ccalc'!A0@example.com", "=cmd|'/Ccalc'!A0@example.com"),
        ("a" * 64 + "@example.se", "a" * 64 + "@example.se"),
    ],
)
def test_addresses_a_mail_server_takes_are_kept_as_typed(typed, kept):
    assert validate_email_address(typed) == kept


def test_issued_order_stores_the_address_as_typed(organiser, show):
    event, (standard, _student) = show
    order = issue(
        organiser,
        event,
        {standard.pk: 1},
        email=" Gast.Gastsson@Example.ORG ",
        method="CASH",
        prices={standard.pk: Decimal("10")},
    )
    assert order.email == "Gast.Gastsson@Example.ORG"
