"""Admissions never let sold seats exceed capacity: a property test.

Any sequence of admission rounds, reservations by admitted entries (and by
entries that were never admitted), payments, holds left to lapse,
cancellations and refunds of paid orders: the paid tickets and the live
ones stay within the event's seats, every paid order came through an
admission, and an entry is admitted only in rank order.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketshop.books.models import Receipt
from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets, TooManyTickets
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.seats import count_live_tickets
from ticketshop.orders.services import TicketLine, reserve_tickets
from ticketshop.release import services
from ticketshop.release.errors import ConfirmationRequired, NotAdmitted, TurnPassed
from ticketshop.release.models import Entry, Release, SaleMode

SEATS = 7
BUYERS = 10

step = st.one_of(
    st.tuples(st.just("tick"), st.integers(min_value=0, max_value=12)),  # minutes
    st.tuples(
        st.just("reserve"),
        st.integers(min_value=0, max_value=BUYERS - 1),
        st.integers(min_value=1, max_value=4),
    ),
    st.tuples(st.just("pay"), st.integers(min_value=0, max_value=BUYERS - 1)),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=BUYERS - 1)),
    st.tuples(st.just("pause"), st.booleans()),
)


def _paid(event) -> int:
    return (
        Order.objects.filter(event=event, status=OrderStatus.PAID).aggregate(
            n=Sum("ticket_count")
        )["n"]
        or 0
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    wanted=st.lists(
        st.integers(min_value=1, max_value=4), min_size=BUYERS, max_size=BUYERS
    ),
    overbook=st.sampled_from(["1.00", "1.25", "1.50"]),
    checking_out=st.integers(min_value=1, max_value=5),
    steps=st.lists(step, max_size=25),
    seed=st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_admissions_never_sell_beyond_capacity(
    wanted, overbook, checking_out, steps, seed
):
    Entry.objects.all().delete()
    Release.objects.all().delete()
    # Receipts (of the paid orders) protect their orders: credits first.
    Receipt.objects.filter(original__isnull=False).delete()
    Receipt.objects.all().delete()
    Order.objects.all().delete()
    TicketOffer.objects.all().delete()
    ChapterEvent.objects.all().delete()
    TicketType.objects.all().delete()
    start = timezone.now()
    event = ChapterEvent.objects.create(
        title="Spex",
        event_at=start + timedelta(days=30),
        sales_stop_at=start + timedelta(days=29),
        seats=SEATS,
        reservation_minutes=10,
        max_tickets_per_payment=4,
    )
    standard = TicketType.objects.create(title="Standard", price=100)
    TicketOffer.objects.create(event=event, ticket_type=standard)
    release = Release.objects.create(
        event=event,
        mode=SaleMode.RANDOM_WINDOW,
        queue_opens_at=start - timedelta(hours=1),
        sale_opens_at=start,
        window_closes_at=start + timedelta(minutes=2),
        admit_seconds=300,
        max_checking_out=checking_out,
        overbook_factor=overbook,
        seed=seed,  # fixed per example: Hypothesis can replay a failure
    )
    tokens = [f"session-{n}" for n in range(BUYERS)]
    for n, token in enumerate(tokens):
        entry = services.join(
            event_id=event.pk,
            session_token=token,
            email=f"buyer{n}@example.org",
            tickets_wanted=wanted[n],
            now=start + timedelta(seconds=n),
        )
        if n % 4 != 3:  # every fourth buyer never confirms: passes its turn
            services.confirm(token=entry.confirm_token, now=start)
    now = start + timedelta(minutes=2, seconds=1)
    services.draw(release.pk, now=now)
    orders: dict[int, Order] = {}
    made: set[int] = set()
    admitted_order = []

    for action in steps:
        kind = action[0]
        if kind == "tick":
            now += timedelta(minutes=action[1])
            before = set(
                Entry.objects.filter(state="admitted").values_list("pk", flat=True)
            )
            services.admit(release.pk, now=now)
            new = Entry.objects.filter(state="admitted").exclude(pk__in=before)
            admitted_order += sorted(new.values_list("rank", flat=True))
        elif kind == "pause":
            Release.objects.filter(pk=release.pk).update(paused=action[1])
        elif kind == "reserve":
            _, buyer, count = action
            try:
                entry = services.admission_for(
                    event_id=event.pk,
                    session_token=tokens[buyer],
                    tickets=count,
                    now=now,
                )
                order = reserve_tickets(
                    event_id=event.pk,
                    lines=[TicketLine(ticket_type_id=standard.pk, count=count)],
                    now=now,
                    previous=orders.get(buyer),
                )
                services.record_reservation(entry, order)
                orders[buyer] = order
                # A second reservation releases the first: it came through
                # the admission too, though no entry names it any more.
                made.add(order.pk)
            except (NotAdmitted, TooManyTickets, OutOfTickets):
                pass
        elif kind == "pay" and action[1] in orders:
            try:
                # The payment starts only once the address is confirmed.
                services.payment_gate(orders[action[1]])
                may_pay = True
            except (ConfirmationRequired, TurnPassed):
                may_pay = False
            with transaction.atomic():
                order = lifecycle.lock_order(orders[action[1]].pk)
                if may_pay and lifecycle.can_pay(order, now=now):
                    lifecycle.pay(order, reference="R", paid_at=now, now=now)
        elif kind == "cancel" and action[1] in orders:
            # A cancellation of a hold, or of a paid order (its refund).
            with transaction.atomic():
                order = lifecycle.lock_order(orders[action[1]].pk)
                if order.status in (OrderStatus.RESERVED, OrderStatus.PAID):
                    lifecycle.cancel(order, now=now)

        live = count_live_tickets(event_ids=[event.pk], now=now).get(event.pk, 0)
        assert _paid(event) <= SEATS
        assert live <= SEATS
        # Every order of a queued event came through an admission.
        assert (
            set(Order.objects.values_list("pk", flat=True))
            <= set(Entry.objects.exclude(order=None).values_list("order", flat=True))
            | made
        )
        assert Entry.objects.filter(state="paid").count() <= SEATS
        # Unconfirmed entries may reserve, but are never paid.
        assert not Entry.objects.filter(state="paid", email_confirmed_at=None).exists()
        checking = Entry.objects.filter(state__in=("admitted",)).count()
        assert checking <= checking_out
    # Admitted in rank order.
    assert admitted_order == sorted(admitted_order)
