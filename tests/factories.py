from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    title = factory.Sequence(lambda n: f"Biljett {n}")
    description = "En biljett."
    price = Decimal("199.00")
    visible = True


class ChapterEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChapterEvent

    title = factory.Sequence(lambda n: f"Evenemang {n}")
    description = "Ett evenemang."
    location = "Nymble"
    event_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    sales_stop_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))
    seats = 100
    max_tickets_per_payment = 8
    reservation_minutes = 15
    swish_message = "Biljetter"


class TicketOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketOffer

    event = factory.SubFactory(ChapterEventFactory)
    ticket_type = factory.SubFactory(TicketTypeFactory)
    limit = None


def event_with_types(*, seats=100, prices=("199", "99"), limits=None, **kwargs):
    """Create an event offering one visible ticket type per price."""
    event = ChapterEventFactory(seats=seats, **kwargs)
    types = []
    for index, price in enumerate(prices):
        ticket_type = TicketTypeFactory(price=Decimal(price))
        limit = (limits or {}).get(index)
        TicketOfferFactory(event=event, ticket_type=ticket_type, limit=limit)
        types.append(ticket_type)
    return event, types


def reserve_tickets(*, session, **kwargs):
    """Reserve as the reservation view does for a buyer's session: the
    session's earlier order is released, and the new one kept in it."""
    from ticketshop.orders import services
    from ticketshop.orders.sessions import get_session_order, keep_session_order

    order = services.reserve_tickets(previous=get_session_order(session), **kwargs)
    keep_session_order(session, order)
    return order


def start_payment(*, session, **kwargs):
    """Start a payment as the start_payment view does for a buyer's session:
    the order is the session's, and the session follows its renewals."""
    from ticketshop.orders.sessions import (
        get_session_order,
        keep_session_order,
        renew_session_order,
    )
    from ticketshop.payments.start import start_payment as start

    return start(
        order=get_session_order(session),
        keep=lambda order: keep_session_order(session, order),
        renewed=lambda order: renew_session_order(session, order),
        **kwargs,
    )
