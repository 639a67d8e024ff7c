"""Reads of the shop's pages that carry a rule."""

from datetime import datetime

from ticketshop.orders.models import OrderStatus, Ticket
from ticketshop.orders.selectors import effective_status, get_order_by_token


def get_paid_ticket(
    *, order_token: str | None, external_id: str, now: datetime
) -> Ticket | None:
    """Return the ticket only if it belongs to the session's own paid order.

    The confirmation page shows a QR code per ticket; a ticket id alone must
    never be enough to fetch one (that would let anyone render any ticket).
    """
    order = get_order_by_token(token=order_token)
    if order is None or effective_status(order, now=now) != OrderStatus.PAID:
        return None
    return order.tickets.filter(external_id=external_id.strip().upper()).first()
