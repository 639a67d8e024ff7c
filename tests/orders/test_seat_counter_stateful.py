"""The event's seat counter against a model of it, over random runs of
reservations (new buyers, buyers replacing their hold, limited types),
payments started, paid and failed, lapses, the sweep, renewed holds,
cancellations, refunds of whole orders and of single tickets, and an
organiser's tickets (hypothesis's rule-based state machine), on whichever
database the suite runs.

The rule (orders.seatlock, orders.seats): the counter is unknown or an upper
bound never below the live tickets (and, the seats unchanged, never above
them: it grows only where tickets fit, or to an exact count). The model
says more, step by step: a reservation that fits under a known counter adds
its tickets to it (no count); one that takes the seat lock counts and leaves
it exact; a refusal changes nothing; freeing seats writes nothing to it.
"""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.factories import event_with_types
from ticketshop.db.locks import run_locked
from ticketshop.errors import ShopError
from ticketshop.ops.consistency import check_seats
from ticketshop.orders import lifecycle
from ticketshop.orders.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    SeatCounter,
    Ticket,
)
from ticketshop.orders.seatlock import lock_event
from ticketshop.orders.seats import count_live_tickets
from ticketshop.orders.services import TicketLine, reserve_tickets

pytestmark = pytest.mark.django_db(transaction=True)

SEATS = 12
LIMIT = 3  # the second ticket type's own limit: its reservations count

# What the runs did, not what they tried: a run in which no reservation
# went through the counter, none counted, or no freed seat left the counter
# above the live tickets tells nothing, so the test fails it.
HAPPENED: Counter = Counter()


class SeatCounterModel(RuleBasedStateMachine):
    @initialize()
    def set_up(self):
        # A new event each run: the runs' orders (kept by the books'
        # receipts) are of events of their own.
        self.event, self.types = event_with_types(
            seats=SEATS, prices=("100", "50"), limits={1: LIMIT}
        )
        self.now = timezone.now()
        # Every run starts with a paid order (so that its cancellation, a
        # refund, may come): the first reservation counts (no counter yet)
        # and leaves the counter exact.
        first = reserve_tickets(
            event_id=self.event.pk,
            lines=[TicketLine(self.types[0].pk, 2)],
            now=self.now,
        )
        self._pay(first.pk, "pays")
        self.expected: int | None = 2

    # --- helpers -------------------------------------------------------------

    def _counter(self) -> int | None:
        row = SeatCounter.objects.filter(event=self.event).first()
        return None if row is None else row.held

    def _live(self) -> int:
        counts = count_live_tickets(event_ids=[self.event.pk], now=self.now)
        return counts.get(self.event.pk, 0)

    def _orders(self, **filters) -> list[Order]:
        return list(Order.objects.filter(event=self.event, **filters).order_by("pk"))

    def _takes_seats(self, fn, *, through_counter: int | None):
        """Run a step that may take seats: ``through_counter`` is the number
        of tickets it would add to the counter without a count (None: it
        takes the seat lock and counts). Updates the model."""
        before = self._counter()
        assert before == self.expected
        try:
            fn()
        except (ShopError, lifecycle.TransitionNotAllowed):
            HAPPENED["refused"] += 1
            return  # rolled back whole: the counter as it was
        if (
            through_counter is not None
            and before is not None
            and before + through_counter <= SEATS
        ):
            self.expected = before + through_counter
            HAPPENED["through the counter"] += 1
        else:
            self.expected = self._live()
            HAPPENED["counted"] += 1

    # --- buyers --------------------------------------------------------------

    @rule(
        standard=st.integers(0, 4),
        limited=st.sampled_from([0, 0, 0, 1, 2]),
        replaces=st.sampled_from([False, False, True]),
        data=st.data(),
    )
    def reserve(self, standard, limited, replaces, data):
        lines = [
            TicketLine(self.types[i].pk, n)
            for i, n in ((0, standard), (1, limited))
            if n
        ]
        if not lines:
            return
        previous = None
        holds = self._orders(status=OrderStatus.RESERVED, payment_pending=False)
        if replaces and holds:
            previous = data.draw(st.sampled_from(holds))
        # Types without limits of their own go through the counter; on
        # PostgreSQL only a new buyer's (a hold to release takes the lock),
        # on SQLite also a buyer's replacing their hold.
        unlimited = not limited
        by_counter = unlimited and (previous is None or connection.vendor == "sqlite")
        self._takes_seats(
            lambda: reserve_tickets(
                event_id=self.event.pk, lines=lines, now=self.now, previous=previous
            ),
            through_counter=standard if by_counter else None,
        )

    def _pay(self, order_pk: int, then: str) -> None:
        """Start a payment; then it is paid (and perhaps cancelled at once,
        its refund pending), fails, or runs on (held past its expiry)."""

        def start():
            locked = lifecycle.lock_order(order_pk)
            lifecycle.start_payment(locked, email="kim@example.com", now=self.now)

        run_locked(start)
        if then == "runs on":
            return

        def end():
            locked = lifecycle.lock_order(order_pk)
            if then == "fails":
                lifecycle.fail(locked)
                return
            lifecycle.pay(
                locked,
                reference=f"R{order_pk}",
                paid_at=self.now,
                now=self.now,
                method=PaymentMethod.SWISH,
            )
            if then == "pays, then is cancelled":
                lifecycle.cancel(locked, now=self.now)

        run_locked(end)

    @precondition(lambda self: hasattr(self, "event"))
    @rule(
        data=st.data(),
        then=st.sampled_from(
            ["pays", "pays", "pays, then is cancelled", "fails", "runs on"]
        ),
    )
    def payment(self, data, then):
        """A payment on a hold that still holds its seats."""
        holds = [
            o
            for o in self._orders(status=OrderStatus.RESERVED, payment_pending=False)
            if lifecycle.can_pay(o, now=self.now)
        ]
        if not holds:
            return
        self._pay(data.draw(st.sampled_from(holds)).pk, then)
        HAPPENED[then] += 1
        if then == "pays, then is cancelled":
            HAPPENED["paid order cancelled"] += 1

    @precondition(lambda self: hasattr(self, "event"))
    @rule(data=st.data())
    def payment_ends(self, data):
        running = self._orders(status=OrderStatus.RESERVED, payment_pending=True)
        if not running:
            return
        order = data.draw(st.sampled_from(running))
        run_locked(lambda: lifecycle.fail(lifecycle.lock_order(order.pk)))

    @precondition(lambda self: hasattr(self, "event"))
    @rule(data=st.data())
    def renew(self, data):
        lapsed = [
            o
            for o in self._orders(
                status__in=(
                    OrderStatus.RESERVED,
                    OrderStatus.FAILED_EXPIRED_RESERVATION,
                )
            )
            if lifecycle.needs_renewal(o, now=self.now)
        ]
        if not lapsed:
            return
        order = data.draw(st.sampled_from(lapsed))

        def renew():
            lock_event(event_id=self.event.pk)
            lifecycle.renew(lifecycle.lock_order(order.pk), now=self.now)

        self._takes_seats(lambda: run_locked(renew), through_counter=None)

    @rule(minutes=st.sampled_from([1, 5, 16, 30]))  # holds last 15 minutes
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: hasattr(self, "event"))
    @rule()
    def sweep(self):
        event_id = self.event.pk
        run_locked(lambda: lifecycle.expire_lapsed(event_id=event_id, now=self.now))

    # --- organisers ----------------------------------------------------------

    @precondition(lambda self: hasattr(self, "event"))
    @rule(data=st.data())
    def organiser_cancels(self, data):
        """An unpaid hold, or a paid order (its refund is then pending)."""
        orders = self._orders(status__in=(OrderStatus.RESERVED, OrderStatus.PAID))
        if not orders:
            return
        order = data.draw(st.sampled_from(orders))
        try:
            run_locked(
                lambda: lifecycle.cancel(lifecycle.lock_order(order.pk), now=self.now)
            )
        except lifecycle.TransitionNotAllowed:
            return  # a payment is running
        HAPPENED[
            "paid order cancelled" if order.status == OrderStatus.PAID else "cancelled"
        ] += 1

    @precondition(lambda self: hasattr(self, "event"))
    @rule(data=st.data())
    def organiser_refunds_one_ticket(self, data):
        tickets = list(
            Ticket.objects.filter(
                order__event=self.event,
                order__status=OrderStatus.PAID,
                cancelled_at__isnull=True,
            ).order_by("pk")
        )
        if not tickets:
            return
        ticket = data.draw(st.sampled_from(tickets))
        run_locked(
            lambda: lifecycle.cancel_tickets(
                lifecycle.lock_order(ticket.order_id),
                ticket_ids=[ticket.pk],
                now=self.now,
            )
        )
        HAPPENED["ticket refunded"] += 1

    @rule(standard=st.integers(1, 3))
    def organiser_issues(self, standard):
        if not hasattr(self, "event"):
            return
        counts = {self.types[0].pk: standard}

        def issue():
            lifecycle.issue(
                event_id=self.event.pk,
                counts=counts,
                prices={self.types[0].pk: 0},
                name="Gäst",
                email="guest@example.com",
                method=PaymentMethod.COMPLIMENTARY,
                now=self.now,
            )

        self._takes_seats(lambda: run_locked(issue), through_counter=None)

    # --- invariants ----------------------------------------------------------

    @invariant()
    def the_counter_is_what_the_model_says(self):
        if not hasattr(self, "event"):
            return
        assert self._counter() == self.expected

    @invariant()
    def the_counter_is_a_bound_of_the_live_tickets(self):
        """Unknown, or at least the live tickets and at most the seats; and
        the consistency check agrees (no seat counter too low, no oversell)."""
        if not hasattr(self, "event"):
            return
        held, live = self._counter(), self._live()
        assert live <= SEATS
        if held is not None:
            assert live <= held <= SEATS
            if held > live:
                HAPPENED["counter above the live tickets"] += 1
        # This run's event only: the runs before left events of their own.
        mine = re.compile(rf"\bevent {self.event.pk}\b")
        assert [d for d in check_seats(self.now) if mine.search(d.detail)] == []


def test_the_seat_counter_follows_its_rule_over_a_mixed_run():
    HAPPENED.clear()
    run_state_machine_as_test(
        SeatCounterModel,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"what happened over the run: {dict(HAPPENED)}")
    for what in (
        "through the counter",
        "counted",
        "refused",
        "counter above the live tickets",
        "paid order cancelled",
    ):
        assert HAPPENED[what] > 0, (what, dict(HAPPENED))
