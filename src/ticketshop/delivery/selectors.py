"""Reads about ticket delivery that carry a rule."""

from django.db.models import Q

from ticketshop.orders.models import OrderStatus


def unsent_paid_orders_q(*, prefix: str = "") -> Q:
    """Match paid orders whose ticket e-mail has not been sent (yet)."""
    return Q(**{f"{prefix}status": OrderStatus.PAID}) & (
        Q(**{f"{prefix}ticket_delivery__isnull": True})
        | Q(**{f"{prefix}ticket_delivery__sent_at__isnull": True})
    )
