"""Paid orders, tickets and scanner accounts for the scanning tests.

Orders are created directly in their final state: the door only cares that
an order is PAID, not how it got there.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.utils import timezone

from tests.factories import ChapterEventFactory, TicketTypeFactory
from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.scanning.models import ScannerAccount

SCANNER_PASSWORD = "door-secret-1"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _external_id(n: int) -> str:
    """Return a distinct 6-character id from the shop's alphabet."""
    chars = []
    for _ in range(6):
        n, digit = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    token = factory.Sequence(lambda n: f"order-token-{n}")
    reference = factory.Sequence(lambda n: f"REF{n:07d}")
    event = factory.SubFactory(ChapterEventFactory)
    status = OrderStatus.PAID
    email = "buyer@example.org"
    total_price = Decimal("199.00")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))
    paid_at = factory.LazyFunction(timezone.now)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    event = factory.SelfAttribute("order.event")
    ticket_type = factory.SubFactory(TicketTypeFactory)
    price = Decimal("199.00")
    external_id = factory.Sequence(lambda n: _external_id(n + 1000))
    times_used = 0

    @factory.post_generation
    def count_on_order(self, create, extracted, **kwargs):
        # The order holds its number of tickets, as _create_order writes it.
        if create:
            Order.objects.filter(pk=self.order_id).update(
                ticket_count=F("ticket_count") + 1
            )
            self.order.ticket_count += 1


def paid_ticket(**kwargs) -> Ticket:
    """Return a ticket of a PAID order."""
    return TicketFactory(**kwargs)


def ticket_with_status(status: str, **order_kwargs) -> Ticket:
    return TicketFactory(order=OrderFactory(status=status, **order_kwargs))


class ScannerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScannerAccount
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Dörr {n}")
    password = factory.LazyFunction(lambda: make_password(SCANNER_PASSWORD))
    is_active = True

    @factory.post_generation
    def events(self, create, extracted, **kwargs):
        if create and extracted:
            self.events.set(extracted)
