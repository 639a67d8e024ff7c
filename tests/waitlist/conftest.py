"""A sold-out event with a waiting list, and the helpers its tests share."""

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from tests.factories import event_with_types, reserve_tickets
from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order
from ticketshop.orders.services import TicketLine


def run_worker() -> None:
    """Run every task due now in this process (``db_worker --batch``)."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def hold(event, ticket_type, n: int) -> Order:
    return reserve_tickets(
        session=SessionStore(),
        event_id=event.pk,
        lines=[TicketLine(ticket_type_id=ticket_type.pk, count=n)],
    )


def cancel(order: Order) -> None:
    """Cancel an unpaid hold as an organiser does: its seats come back."""
    with transaction.atomic(durable=True):
        locked = lifecycle.lock_order(order.pk)
        lifecycle.cancel(locked, now=timezone.now())


def join(client, event, email: str, tickets: int):
    return client.post(
        "/api/waitlist/join",
        {"chapter_event": event.pk, "email": email, "tickets": tickets},
        content_type="application/json",
    )


@pytest.fixture
def sold_out():
    """An event of 4 seats, two ticket types, held by two orders of 2."""
    event, types = event_with_types(seats=4, prices=("100", "50"))
    orders = [hold(event, types[0], 2), hold(event, types[0], 2)]
    return event, types, orders
