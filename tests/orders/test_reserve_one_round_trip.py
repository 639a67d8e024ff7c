"""PostgreSQL's reservation through the event's seat counter (issue 12).

A new buyer's reservation of types without limits of their own takes no
seat lock: one prepared statement adds its tickets to the event's
``SeatCounter`` where they fit under it and inserts the order. The counter
is never below the live tickets, or unknown (NULL); whatever it refuses
goes to the seat lock, which counts exactly. These tests pin each part of
that: the wait for the counter's lock, the one statement, the refusals
that still fit, and the counter being unknown while the seat lock is held.
"""

import contextlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import event_with_types, reserve_tickets
from ticketshop.db.locks import run_locked
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import Order, OrderStatus, SeatCounter, Ticket
from ticketshop.orders.seatlock import lock_event
from ticketshop.orders.seats import check_capacity
from ticketshop.orders.selectors import count_live_tickets
from ticketshop.orders.services import TicketLine

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _reserve_in_transaction(event, ticket_type, count, now=None):
    return lifecycle.reserve(
        event_id=event.pk,
        counts={ticket_type.pk: count},
        prices={ticket_type.pk: ticket_type.price},
        limits={ticket_type.pk: None},
        now=now or timezone.now(),
    )


def _reserve(event, ticket_type, count, now=None):
    return run_locked(
        _reserve_in_transaction,
        event=event,
        ticket_type=ticket_type,
        count=count,
        now=now,
    )


def _held(event):
    return SeatCounter.objects.get(event=event).held


def _live(event):
    return count_live_tickets(event_ids=[event.pk], now=timezone.now()).get(event.pk, 0)


@contextlib.contextmanager
def statements_sent():
    """Record the text of every statement this thread's connection sends
    (a prepared statement's text too, which ``connection.queries`` lacks)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def test_the_first_reservation_counts_under_the_seat_lock_then_one_statement_each():
    event, (standard, student) = event_with_types(seats=5)
    assert not SeatCounter.objects.filter(event=event).exists()
    with statements_sent() as first:
        _reserve(event, standard, 1)
    # No counter yet: the seat lock created it, counted and set it exact.
    assert len(first) > 1
    assert _held(event) == 1

    with statements_sent() as statements:
        with transaction.atomic(durable=True):
            order = lifecycle.reserve(
                event_id=event.pk,
                counts={standard.pk: 2, student.pk: 1},
                prices={standard.pk: standard.price, student.pk: student.price},
                limits={standard.pk: None, student.pk: None},
                now=timezone.now(),
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(statements) == 1, statements
    assert 'UPDATE "orders_seatcounter"' in statements[0]
    assert "INSERT INTO" in statements[0]
    assert "FOR NO KEY UPDATE" not in statements[0]  # no seat lock
    # Prepared on the server: parsed and planned once per connection.
    assert any('UPDATE "orders_seatcounter"' in text for text in prepared), prepared
    assert _held(event) == 4 == _live(event)
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED
    assert order.ticket_count == 3
    assert order.total_price == standard.price * 2 + student.price
    assert order.expires_at > timezone.now() + timedelta(minutes=1)
    tickets = Ticket.objects.filter(order=order)
    assert sorted(t.price for t in tickets) == sorted(
        [standard.price, standard.price, student.price]
    )
    assert {t.event_id for t in tickets} == {event.pk}

    # Full by the counter: its statement counts the seats left and refuses,
    # without the seat lock; nothing is written.
    with statements_sent() as refusal, pytest.raises(OutOfTickets) as refused:
        _reserve(event, standard, 2)
    assert len(refusal) == 1, refusal
    assert refused.value.tickets_left == 1
    assert _held(event) == 4
    assert Ticket.objects.filter(event=event).count() == 4
    assert _reserve(event, standard, 1).ticket_count == 1
    assert _held(event) == 5 == _live(event)
    assert Decimal(order.total_price) > 0


def _lock_waits(event) -> int:
    """Backends of this database waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE NOT l.granted AND a.datname = current_database()"
        )
        return cursor.fetchone()[0]


def _wait_for(condition, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_reservation_that_waited_for_the_counter_sees_what_the_holder_wrote():
    """A takes 2 of the 3 seats left through the counter and holds its
    transaction open; B asks for 2 meanwhile and waits for the counter's row
    (seen in pg_locks); A commits; B must be refused with 1 left (a counter
    read before the wait would oversell). B's own count of the seats left is
    as of its statement's start, before A committed: it finds room, so the
    seat lock counts again and refuses."""
    event, (standard, _) = event_with_types(seats=4)
    _reserve(event, standard, 1)  # the counter is known from here
    held, release, failures, refusals = (
        threading.Event(),
        threading.Event(),
        [],
        [],
    )

    def holder():
        try:
            with statements_sent() as statements:
                with transaction.atomic(durable=True):
                    _reserve_in_transaction(event, standard, 2)
                    held.set()
                    release.wait(30)
            assert len(statements) == 1  # through the counter
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            held.set()
        finally:
            connections.close_all()

    def second_buyer():
        try:
            _reserve(event, standard, 2)
        except OutOfTickets as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=second_buyer)
    second.start()
    waiting = _wait_for(lambda: _lock_waits(event) > 0)
    release.set()
    first.join(10)
    second.join(10)
    assert failures == []
    assert waiting  # B did wait for A's counter
    assert [refused.tickets_left for refused in refusals] == [1]
    assert _live(event) == 3 == Ticket.objects.filter(event=event).count()
    # And the last seat still sells.
    assert _reserve(event, standard, 1).ticket_count == 1
    assert _held(event) == 4 == _live(event)


def test_a_sold_out_event_refuses_in_one_statement_and_a_lapse_still_sells():
    """Once the seats are taken, a new buyer is refused by the counter's one
    statement, which counts the seats left (the counter alone may be above
    them): no seat lock, nothing written. When a hold lapses, that count
    finds room, and the seat lock sells the seat."""
    event, (standard, _) = event_with_types(seats=3)
    now = timezone.now()
    lapsing = _reserve(event, standard, 1, now=now)
    _reserve(event, standard, 2, now=now + timedelta(minutes=1))
    assert _held(event) == 3 == _live(event)

    for wanted in (1, 3):
        with statements_sent() as sent, pytest.raises(OutOfTickets) as refused:
            lifecycle.reserve_by_counter(
                event_id=event.pk,
                counts={standard.pk: wanted},
                prices={standard.pk: standard.price},
                now=now,
            )
        assert len(sent) == 1, sent
        assert refused.value.tickets_left == 0
    assert _held(event) == 3
    assert Order.objects.filter(event=event).count() == 2

    later = lapsing.expires_at + timedelta(seconds=1)
    with statements_sent() as sent:
        order = reserve_tickets(
            session=_Session(),
            event_id=event.pk,
            lines=[TicketLine(standard.pk, 1)],
            now=later,
        )
    assert order.ticket_count == 1
    assert len(sent) > 2  # the counter's statement, then the seat lock's way
    assert any("FOR NO KEY UPDATE" in text for text in sent), sent
    assert _held(event) == 3 == _live(event)


def test_the_seats_left_are_counted_only_when_the_counter_refuses():
    """The count in the counter's statement costs a fitting reservation
    nothing: PostgreSQL runs it only when the counter refused."""
    event, (standard, _) = event_with_types(seats=3)
    _reserve(event, standard, 1)

    def plan(wanted: int) -> str:
        captured = []

        def capture(execute, sql_text, params, many, context):
            captured.append((sql_text, params))
            raise _Captured

        with connection.execute_wrapper(capture), contextlib.suppress(_Captured):
            lifecycle.reserve_by_counter(
                event_id=event.pk,
                counts={standard.pk: wanted},
                prices={standard.pk: standard.price},
                now=timezone.now(),
            )
        ((sql_text, params),) = captured
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql_text, params
            )
            text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        # The count's part of the plan: from its scan of the event (sl_e).
        return text[text.index("events_chapterevent sl_e") :]

    assert "(never executed)" in plan(1).splitlines()[0]
    assert "(never executed)" not in plan(3)
    assert _held(event) == 1 == _live(event)


class _Captured(Exception):
    pass


def test_seats_freed_after_the_count_still_sell_through_the_seat_lock():
    """A lapsed hold and a cancelled order free their seats without writing
    the counter: it stays above the live tickets, refuses, and the seat
    lock sweeps, counts, sells and sets it exact again."""
    event, (standard, _) = event_with_types(seats=5)
    now = timezone.now()
    lapsing = _reserve(event, standard, 3, now=now)
    assert _held(event) == 3
    later = lapsing.expires_at + timedelta(seconds=1)
    assert _live(event) == 3
    order = _reserve(event, standard, 3, now=later)
    assert order.ticket_count == 3
    lapsing.refresh_from_db()
    assert lapsing.status == OrderStatus.FAILED_EXPIRED_RESERVATION  # swept
    assert _held(event) == 3

    def cancel():
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=later)

    run_locked(cancel)
    assert _held(event) == 3  # freed seats lower nothing
    assert _reserve(event, standard, 5, now=later).ticket_count == 5
    assert _held(event) == 5


def test_the_counter_is_unknown_while_the_seat_lock_is_held_and_after_an_overflow():
    """The seat lock sets the counter unknown until ``check_capacity`` counts;
    tickets issued beyond capacity leave it unknown, and the next fast
    reservation is refused by it and then by the exact count."""
    event, (standard, _) = event_with_types(seats=3)
    _reserve(event, standard, 1)
    assert _held(event) == 1

    def look_under_the_lock():
        lock_event(event_id=event.pk)
        with connections["default"].cursor() as cursor:
            # The same connection: our own write, not yet committed.
            cursor.execute(
                'SELECT "held" FROM "orders_seatcounter" WHERE "event_id" = %s',
                [event.pk],
            )
            return cursor.fetchone()[0]

    assert run_locked(look_under_the_lock) is None
    # Rolled back or committed without a count: never below the live tickets.
    assert _held(event) is None

    def issue_beyond():
        return lifecycle.issue(
            event_id=event.pk,
            counts={standard.pk: 4},
            prices={standard.pk: standard.price},
            name="Guest",
            email="guest@example.com",
            method="COMPLIMENTARY",
            allow_over_capacity=True,
        )

    run_locked(issue_beyond)
    assert _held(event) is None
    assert _live(event) == 5
    with pytest.raises(OutOfTickets) as refused:
        _reserve(event, standard, 1)
    assert refused.value.tickets_left == 0
    assert _live(event) == 5
    assert Order.objects.filter(event=event).count() == 2


@pytest.mark.parametrize("synchronous", [False, True])
def test_a_new_hold_commits_without_waiting_for_the_disk_unless_asked(
    settings, synchronous
):
    settings.RESERVATION_SYNCHRONOUS_COMMIT = synchronous
    event, (standard, _) = event_with_types(seats=5)
    _reserve(event, standard, 1)  # the counter is known from here
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


class _Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def _buy(event, ticket_type, count=1):
    return reserve_tickets(
        session=_Session(),
        event_id=event.pk,
        lines=[TicketLine(ticket_type.pk, count)],
    )


def test_a_new_buyer_reserves_in_one_statement_of_its_own_without_begin_or_commit():
    event, (standard, _) = event_with_types(seats=4)
    _buy(event, standard)  # the counter is known from here
    with CaptureQueriesContext(connection) as queries, statements_sent() as sent:
        order = _buy(event, standard, 2)
    # The offers read, then the counter's statement, in autocommit: no
    # BEGIN and no COMMIT (Django logs both when it sends them).
    assert len(sent) == 2, sent
    assert "events_ticketoffer" in sent[0]
    assert 'UPDATE "orders_seatcounter"' in sent[1]
    assert len(queries.captured_queries) == 2
    assert order.ticket_count == 2
    assert _held(event) == 3 == _live(event)
    # Refused by the counter, and by the seats it then counts: the same one
    # statement, still no BEGIN and no COMMIT.
    with CaptureQueriesContext(connection) as queries, statements_sent() as sent:
        with pytest.raises(OutOfTickets) as refused:
            _buy(event, standard, 2)
    assert len(sent) == 2, sent
    assert len(queries.captured_queries) == 2
    assert refused.value.tickets_left == 1
    assert _live(event) == 3


@pytest.mark.parametrize("synchronous", [False, True])
def test_a_hold_in_its_own_transaction_does_not_wait_for_the_disk_unless_asked(
    settings, synchronous
):
    """The counter's one statement sets its transaction's synchronous_commit
    (off unless RESERVATION_SYNCHRONOUS_COMMIT): read back from the very
    statement, not from the server's WAL statistics, which other sessions
    and fsync=off would disturb."""
    settings.RESERVATION_SYNCHRONOUS_COMMIT = synchronous
    event, (standard, _) = event_with_types(seats=100)
    _buy(event, standard)
    asked = []

    def record(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "set_config('synchronous_commit'" in sql:
            asked.extend(value for value in params if value in ("on", "off"))
        return result

    with connection.execute_wrapper(record):
        _buy(event, standard)
    assert asked == ["on" if synchronous else "off"]
    assert _held(event) == 2 == _live(event)


def test_a_count_without_the_seat_lock_may_not_set_the_counter():
    """check_capacity sets only a counter that the seat lock made unknown:
    a count taken without that lock could miss a reservation in flight."""
    event, (standard, _) = event_with_types(seats=5)
    _buy(event, standard)
    assert _held(event) == 1

    def count_without_the_lock():
        check_capacity(event=event, wanted={standard.pk: 1}, now=timezone.now())

    with pytest.raises(RuntimeError, match="must follow lock_event"):
        run_locked(count_without_the_lock)
    assert _held(event) == 1
