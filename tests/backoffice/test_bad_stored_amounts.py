"""A money value that got into the database some other way (raw SQL, an old
import) never takes a page down: the pages show it as an invalid amount and
log it, on SQLite (which stores 1e30 in a NUMERIC(10,2) column and text
such as 'NaN' as it is) and on PostgreSQL (which stores NaN)."""

import logging

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from ticketshop.delivery.emails import build_ticket_email
from ticketshop.events.models import TicketType
from ticketshop.orders.models import Order, PaymentMethod, Ticket

from .conftest import issue

pytestmark = pytest.mark.django_db


# PostgreSQL's numeric(10,2) holds NaN but none of the others: those run on
# SQLite only (deselected on PostgreSQL, not skipped).
BAD_VALUES = [
    "NaN",
    *(pytest.param(v, marks=pytest.mark.sqlite_only) for v in (1e30, "1e30")),
    *(pytest.param(v, marks=pytest.mark.sqlite_only) for v in ("Infinity", "junk")),
]


@pytest.fixture(params=BAD_VALUES)
def bad_value(request):
    return request.param


@pytest.fixture
def spoiled(organiser, show, bad_value):
    event, (standard, student) = show
    issue(organiser, event, {standard.pk: 1}, name="Ann Ok", email="ok@x.se")
    order = issue(
        organiser,
        event,
        {student.pk: 2},
        name="Bo Bad",
        email="bad@x.se",
        method=PaymentMethod.CASH,
    )
    with connection.cursor() as cursor:
        for model, column in ((Ticket, "price"), (Order, "total_price")):
            where = "order_id" if model is Ticket else "id"
            cursor.execute(
                f"UPDATE {model._meta.db_table} SET {column} = %s"  # noqa: S608
                f" WHERE {where} = %s",
                [bad_value, order.pk],
            )
    return event, order


def test_pages_and_files_show_the_bad_amount_instead_of_failing(
    client, organiser, treasurer, spoiled, caplog
):
    event, order = spoiled
    caplog.set_level(logging.WARNING, logger="ticketshop.money")
    treasurer.groups.add(*organiser.groups.all())
    client.force_login(treasurer)
    today = timezone.localdate().isoformat()
    pages = [
        reverse("admin:backoffice_dashboard"),
        reverse("admin:backoffice_event", args=[event.pk]),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:orders_ticket_changelist"),
        reverse("admin:backoffice_cancel", args=[order.pk]),
        reverse("admin:backoffice_exchange", args=[order.pk]),
        reverse("admin:backoffice_find") + "?q=Bad",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    with translation.override("en"):
        shown = client.get(
            reverse("admin:backoffice_cancel", args=[order.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
        ).content.decode()
    assert "invalid amount" in shown
    swedish = client.get(
        reverse("admin:orders_order_change", args=[order.pk]),
        HTTP_ACCEPT_LANGUAGE="sv",
    ).content.decode()
    assert "ogiltigt belopp" in swedish
    for fmt in ("csv", "xlsx"):
        url = reverse("admin:backoffice_attendees", args=[event.pk, fmt])
        assert client.get(url).status_code == 200, fmt
    assert (
        client.get(reverse("admin:backoffice_door_list", args=[event.pk])).status_code
        == 200
    )
    bookkeeping = client.get(
        reverse("admin:backoffice_bookkeeping"),
        {"from": today, "to": today, "format": "csv"},
    )
    assert bookkeeping.status_code == 200
    message = build_ticket_email(order=Order.objects.get(pk=order.pk), language="en")
    assert "invalid amount" in message.body
    assert any("invalid amount" in r.getMessage() for r in caplog.records)


def test_the_shop_lists_events_and_refuses_only_the_spoiled_type(client, show):
    event, (standard, student) = show
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TicketType._meta.db_table} SET price = %s WHERE id = %s",  # noqa: S608
            ["NaN", student.pk],
        )
    listing = client.get("/get_chapterevents/")
    assert listing.status_code == 200
    prices = {t["id"]: t["price"] for t in listing.json()["ticket_types"]}
    assert prices[standard.pk] == "199"
    assert prices[student.pk] in ("invalid amount", "ogiltigt belopp")

    def reserve(ticket_type):
        body = {
            "chapter_event": event.pk,
            "tickets": [{"ticket_type": ticket_type.pk, "count": 1}],
        }
        return client.post("/reserve_ticket/", body, content_type="application/json")

    spoiled = reserve(student)
    assert spoiled.status_code == 404
    assert spoiled.json() == "TicketTypeDoesNotExist"
    assert reserve(standard).status_code == 201
