"""PostgreSQL's reservation in one round trip: the seat lock, then the count
and the insert in a statement of their own sent with it (issue 12).

The count must see what the lock's previous holder committed while this
reservation waited for the lock; it does because each statement of the
round trip takes its own snapshot when it starts, after the lock."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.db.locks import run_locked
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import Ticket
from ticketshop.orders.selectors import count_live_tickets

pytestmark = pytest.mark.postgres_only

HELD_SECONDS = 0.6


def _reserve(event, ticket_type, count):
    return run_locked(
        lifecycle.reserve,
        event_id=event.pk,
        counts={ticket_type.pk: count},
        prices={ticket_type.pk: ticket_type.price},
        limits={ticket_type.pk: None},
        now=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_a_reservation_that_waited_for_the_lock_counts_what_the_holder_wrote():
    """A holds the seat lock and takes 2 of 3 seats, commits after 0.6 s; B
    asks for 2 meanwhile, waits for the lock, and must be refused with 1
    left (a count from before the wait would let it oversell)."""
    event, (standard, _) = event_with_types(seats=3)
    held, failures = threading.Event(), []

    def holder():
        try:
            with transaction.atomic(durable=True):
                _reserve_in_transaction(event, standard, 2)
                held.set()
                time.sleep(HELD_SECONDS)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            held.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    started = time.monotonic()
    with pytest.raises(OutOfTickets) as refused:
        _reserve(event, standard, 2)
    waited = time.monotonic() - started
    thread.join(10)
    assert failures == []
    assert waited >= HELD_SECONDS / 2  # B did wait for A's lock
    assert refused.value.tickets_left == 1
    live = count_live_tickets(event_ids=[event.pk], now=timezone.now())[event.pk]
    assert live == 2 == Ticket.objects.filter(event=event).count()
    # And the last seat still sells.
    assert _reserve(event, standard, 1).ticket_count == 1


def _reserve_in_transaction(event, ticket_type, count):
    return lifecycle.reserve(
        event_id=event.pk,
        counts={ticket_type.pk: count},
        prices={ticket_type.pk: ticket_type.price},
        limits={ticket_type.pk: None},
        now=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_lock_count_and_insert_are_one_round_trip():
    event, (standard, student) = event_with_types(seats=5)
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic(durable=True):
            order = lifecycle.reserve(
                event_id=event.pk,
                counts={standard.pk: 2, student.pk: 1},
                prices={standard.pk: standard.price, student.pk: student.price},
                limits={standard.pk: None, student.pk: None},
                now=timezone.now(),
            )
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"] not in ("BEGIN", "COMMIT")
    ]
    assert len(statements) == 1, statements
    assert "FOR NO KEY UPDATE" in statements[0]
    assert "INSERT INTO" in statements[0]
    order.refresh_from_db()
    assert order.ticket_count == 3
    assert order.total_price == standard.price * 2 + student.price
    assert order.expires_at > timezone.now()
    tickets = Ticket.objects.filter(order=order)
    assert sorted(t.price for t in tickets) == sorted(
        [standard.price, standard.price, student.price]
    )
    assert {t.event_id for t in tickets} == {event.pk}
    # Full: the next is refused by the same statement's count, nothing written.
    with pytest.raises(OutOfTickets) as refused:
        with transaction.atomic(durable=True):
            _reserve_in_transaction(event, standard, 3)
    assert refused.value.tickets_left == 2
    assert Ticket.objects.filter(event=event).count() == 3
    assert Decimal(order.total_price) > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("synchronous", [False, True])
def test_a_new_hold_commits_without_waiting_for_the_disk_unless_asked(
    settings, synchronous
):
    settings.RESERVATION_SYNCHRONOUS_COMMIT = synchronous
    event, (standard, _) = event_with_types(seats=5)
    with transaction.atomic(durable=True):
        _reserve_in_transaction(event, standard, 1)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            in_reservation = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        afterwards = cursor.fetchone()[0]
    assert in_reservation == ("on" if synchronous else "off")
    assert afterwards == "on"  # for that transaction only
