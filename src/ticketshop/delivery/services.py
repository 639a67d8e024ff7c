"""Ticket delivery: the e-mail of a paid order."""

import logging

from django.core.mail import send_mail
from django.db import connection

from ticketshop.orders.models import Order, OrderStatus

logger = logging.getLogger(__name__)


def schedule_ticket_delivery(*, order: Order) -> None:
    """Enqueue the ticket e-mail; call inside the transaction that marks it PAID,
    so that a paid order without a delivery task cannot exist."""
    from .tasks import send_order_tickets

    if not connection.in_atomic_block:
        raise RuntimeError("schedule_ticket_delivery() must run in the transaction")
    send_order_tickets.enqueue(order.pk)


def send_tickets(*, order_id: int) -> None:
    """Send a paid order's tickets to its buyer."""
    order = Order.objects.select_related("event").get(pk=order_id)
    if order.status != OrderStatus.PAID:
        logger.info("order %s is not paid; no tickets sent", order.reference)
        return
    ids = ", ".join(order.tickets.values_list("external_id", flat=True))
    send_mail(
        subject=f"Dina biljetter: {order.event.title}",
        message=f"Biljetter: {ids}\nReferens: {order.payment_reference}",
        from_email=None,
        recipient_list=[order.email],
    )
