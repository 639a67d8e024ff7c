"""Expiry through the service, with time passed in."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.utils import timezone

from tests.factories import event_with_types, reserve_tickets
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import Order
from ticketshop.orders.selectors import count_live_tickets, list_chapterevents
from ticketshop.orders.services import TicketLine

pytestmark = pytest.mark.django_db


def reserve(event, ticket_type, count, now):
    return reserve_tickets(
        session=SessionStore(),
        event_id=event.id,
        lines=[TicketLine(ticket_type_id=ticket_type.id, count=count)],
        now=now,
    )


def test_expired_unpaid_hold_frees_its_seats_at_once():
    now = timezone.now()
    event, (standard, _) = event_with_types(seats=3, reservation_minutes=15)
    reserve(event, standard, 3, now)
    with pytest.raises(OutOfTickets):
        reserve(event, standard, 1, now + timedelta(minutes=14, seconds=59))

    later = now + timedelta(minutes=15)
    order = reserve(event, standard, 3, later)

    assert order.expires_at == later + timedelta(minutes=15)
    assert count_live_tickets(event_ids=[event.id], now=later) == {event.id: 3}


def test_hold_with_payment_in_progress_keeps_its_seats_past_expiry():
    now = timezone.now()
    event, (standard, _) = event_with_types(seats=2)
    first = reserve(event, standard, 2, now)
    Order.objects.filter(pk=first.pk).update(payment_pending=True)

    with pytest.raises(OutOfTickets) as error:
        reserve(event, standard, 1, now + timedelta(hours=2))
    assert error.value.tickets_left == 0


def test_reservation_duration_is_per_event():
    now = timezone.now()
    event, (standard, _) = event_with_types(reservation_minutes=5)
    order = reserve(event, standard, 1, now)
    assert order.expires_at == now + timedelta(minutes=5)


def test_listing_counts_only_live_tickets():
    now = timezone.now()
    event, (standard, _) = event_with_types(seats=10)
    reserve(event, standard, 4, now)
    assert list_chapterevents(now=now)["events"][0]["tickets_left"] == 6
    listing = list_chapterevents(now=now + timedelta(minutes=16))
    assert listing["events"][0]["tickets_left"] == 10
