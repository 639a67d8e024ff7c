"""For any sequence of reservations, expiries and new reservations,
tickets_left equals seats minus live tickets and never goes below zero."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db.models import Q
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import reserve_tickets
from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType
from ticketshop.orders.errors import OutOfTickets, TooManyTickets
from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.orders.selectors import list_chapterevents
from ticketshop.orders.services import TicketLine

SEATS = 12

step = st.one_of(
    st.tuples(
        st.just("reserve"),
        st.integers(min_value=0, max_value=3),  # which buyer (session)
        st.integers(min_value=1, max_value=5),  # standard tickets
        st.integers(min_value=0, max_value=3),  # limited tickets
    ),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=20)),  # minutes
    st.tuples(st.just("pay"), st.integers(min_value=0, max_value=3)),
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, max_size=15))
def test_tickets_left_is_seats_minus_live_tickets(steps):
    Ticket.objects.all().delete()
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
        max_tickets_per_payment=8,
    )
    standard = TicketType.objects.create(title="Standard", price=100)
    limited = TicketType.objects.create(title="Student", price=50)
    TicketOffer.objects.create(event=event, ticket_type=standard)
    TicketOffer.objects.create(event=event, ticket_type=limited, limit=4)
    sessions = [SessionStore() for _ in range(4)]
    now = start

    for action in steps:
        if action[0] == "wait":
            now += timedelta(minutes=action[1])
        elif action[0] == "pay":
            token = sessions[action[1]].get("order_token")
            Order.objects.filter(
                token=token, status=OrderStatus.RESERVED, expires_at__gt=now
            ).update(status=OrderStatus.PAID)
        else:
            _, buyer, count, limited_count = action
            lines = [TicketLine(ticket_type_id=standard.id, count=count)]
            if limited_count:
                lines.append(TicketLine(ticket_type_id=limited.id, count=limited_count))
            try:
                reserve_tickets(
                    session=sessions[buyer], event_id=event.id, lines=lines, now=now
                )
            except (OutOfTickets, TooManyTickets):
                pass

        live = Ticket.objects.filter(
            Q(order__status=OrderStatus.PAID)
            | Q(order__status=OrderStatus.RESERVED, order__expires_at__gt=now)
        )
        row = list_chapterevents(now=now)["events"][0]
        assert row["tickets_left"] == SEATS - live.count()
        assert row["tickets_left"] >= 0
        limited_left = row["ticket_type_limits"][str(limited.id)]
        assert limited_left == min(
            4 - live.filter(ticket_type=limited).count(), row["tickets_left"]
        )
        assert limited_left >= 0
