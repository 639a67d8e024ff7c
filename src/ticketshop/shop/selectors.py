"""Reads of the shop's pages that carry a rule."""

from datetime import datetime

from django.utils import timezone

from ticketshop.events.models import ChapterEvent, TicketType
from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.orders.selectors import effective_status


def get_paid_ticket_of_order(
    *, order: Order, external_id: str, now: datetime
) -> Ticket | None:
    """Return the ticket only if it is a live ticket of this paid order.

    The confirmation page shows a QR code per ticket; a ticket id alone must
    never be enough to fetch one (that would let anyone render any ticket):
    the view asks only for the session's own order.
    """
    if effective_status(order, now=now) != OrderStatus.PAID:
        return None
    return order.tickets.filter(
        external_id=external_id.strip().upper(), cancelled_at__isnull=True
    ).first()


def list_swedish_only_texts() -> dict[str, list[int]]:
    """Return the ids of events and ticket types whose texts have no English.

    English pages mark those texts lang="sv" for screen readers. Events
    whose sales have stopped are left out (they are not shown).
    """
    now = timezone.now()
    events = ChapterEvent.objects.filter(sales_stop_at__gt=now)
    types = TicketType.objects.filter(visible=True, offers__event__in=events)
    return {
        "events": list(events.filter(title_en="").values_list("id", flat=True)),
        "descriptions": list(
            events.filter(description_en="")
            .exclude(description="")
            .values_list("id", flat=True)
        ),
        "ticketTypes": list(
            types.filter(title_en="").values_list("id", flat=True).distinct()
        ),
        "typeDescriptions": list(
            types.filter(description_en="")
            .exclude(description="")
            .values_list("id", flat=True)
            .distinct()
        ),
    }
