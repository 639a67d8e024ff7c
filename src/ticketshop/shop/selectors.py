"""Reads of the shop's pages that carry a rule."""

from datetime import datetime

from ticketshop.orders.models import OrderStatus, Ticket
from ticketshop.orders.selectors import effective_status
from ticketshop.orders.sessions import get_session_order


def get_paid_ticket(*, session, external_id: str, now: datetime) -> Ticket | None:
    """Return the ticket only if it belongs to the session's own paid order.

    The confirmation page shows a QR code per ticket; a ticket id alone must
    never be enough to fetch one (that would let anyone render any ticket).
    """
    order = get_session_order(session)
    if order is None or effective_status(order, now=now) != OrderStatus.PAID:
        return None
    return order.tickets.filter(
        external_id=external_id.strip().upper(), cancelled_at__isnull=True
    ).first()
