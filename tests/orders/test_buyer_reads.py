"""The buyer's pages' reads written by hand (every status poll): the order
of a session's token with its event, the order's latest payment and its
lines read what the ORM reads, on either database."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import event_with_types, reserve_tickets
from ticketshop.orders.models import Order, Ticket
from ticketshop.orders.selectors import list_order_lines
from ticketshop.orders.services import TicketLine
from ticketshop.orders.sessions import order_by_token
from ticketshop.payments.machines import create_payment
from ticketshop.payments.models import SwishPayment
from ticketshop.payments.selectors import get_latest_payment

pytestmark = pytest.mark.django_db


class Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def _order():
    event, (standard, reduced) = event_with_types()
    order = reserve_tickets(
        session=Session(),
        event_id=event.id,
        lines=[TicketLine(standard.id, 2), TicketLine(reduced.id, 1)],
    )
    return order, standard, reduced


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_order_of_a_token_is_what_the_orm_reads_with_its_event_in_one_statement():
    order, _, _ = _order()
    expected = Order.objects.select_related("event").get(pk=order.pk)
    with CaptureQueriesContext(connection) as captured:
        found = order_by_token(order.token)
        assert found.event.title == expected.event.title
    assert len(captured.captured_queries) == 1
    assert _fields(found) == _fields(expected)
    assert _fields(found.event) == _fields(expected.event)
    assert isinstance(found.total_price, Decimal)
    assert found.expires_at.tzinfo is not None
    assert order_by_token("no-such-token") is None


def test_the_lines_count_live_tickets_per_type():
    order, standard, reduced = _order()
    assert list_order_lines(order=order) == sorted(
        [
            {"ticket_type": standard.id, "count": 2},
            {"ticket_type": reduced.id, "count": 1},
        ],
        key=lambda line: line["ticket_type"],
    )
    first = order.tickets.filter(ticket_type=standard).order_by("pk").first()
    Ticket.objects.filter(pk=first.pk).update(cancelled_at=timezone.now())
    lines = {
        line["ticket_type"]: line["count"] for line in list_order_lines(order=order)
    }
    assert lines == {standard.id: 1, reduced.id: 1}


def test_the_latest_payment_is_the_one_of_the_highest_id():
    order, _, _ = _order()
    assert get_latest_payment(order_id=order.pk) is None
    payments = [
        create_payment(
            order=order,
            request_id=f"{n:032X}",
            callback_identifier=f"cb{n}",
            amount=order.total_price,
        )
        for n in (1, 2)
    ]
    latest = get_latest_payment(order_id=order.pk)
    assert latest.pk == payments[1].pk
    assert _fields(latest) == _fields(SwishPayment.objects.get(pk=payments[1].pk))
