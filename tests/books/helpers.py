"""Orders in every state the books see: paid by Swish, cash, free, refunded."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ticketshop.books.models import VatStatus
from ticketshop.books.receipts import current_organiser
from ticketshop.orders import lifecycle
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import PaymentMethod
from ticketshop.orders.services import TicketLine, reserve_tickets


def paid_order(event, counts, *, language="sv", now=None):
    """Reserve ``counts`` ({type: n}) and mark the order paid by Swish."""
    now = now or timezone.now()
    order = reserve_tickets(
        event_id=event.pk,
        lines=[TicketLine(ticket_type_id=t.pk, count=n) for t, n in counts.items()],
        now=now,
        language=language,
    )
    with transaction.atomic(durable=True):
        order = lock_order(order.pk)
        lifecycle.pay(order, reference=f"REF{order.pk}", paid_at=now, now=now)
    return order


def free_order(event, counts, *, now=None):
    now = now or timezone.now()
    order = reserve_tickets(
        event_id=event.pk,
        lines=[TicketLine(ticket_type_id=t.pk, count=n) for t, n in counts.items()],
        now=now,
    )
    with transaction.atomic(durable=True):
        lifecycle.confirm_free(lock_order(order.pk), email="a@example.com", now=now)
    return order


def issued_order(event, counts, *, method=PaymentMethod.CASH, prices=None):
    with transaction.atomic(durable=True):
        return lifecycle.issue(
            event_id=event.pk,
            counts={t.pk: n for t, n in counts.items()},
            prices=prices
            or {
                t.pk: (Decimal(0) if method == PaymentMethod.COMPLIMENTARY else t.price)
                for t in counts
            },
            name="Guest",
            email="guest@example.com",
            method=method,
        )


def cancel_some(order, count, *, now=None):
    """Cancel ``count`` live tickets of a paid order (the sale undone)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        locked = lock_order(order.pk)
        ids = list(
            locked.tickets.filter(cancelled_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:count]
        )
        lifecycle.cancel_tickets(locked, ticket_ids=ids, now=now)


def cancel_all(order, *, now=None):
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        lifecycle.cancel(lock_order(order.pk), now=now)


def registered(**accounts):
    """The seller registered for VAT, with ``accounts`` changed."""
    organiser = current_organiser()
    organiser.legal_name = 'Teaterföreningen "Scenen" på Söder'
    organiser.vat_status = VatStatus.REGISTERED
    organiser.org_number = "802412-3450"
    organiser.vat_number = "SE802412345001"
    for name, value in accounts.items():
        setattr(organiser, name, value)
    organiser.save()
    return organiser
