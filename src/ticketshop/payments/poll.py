"""The buyer's pages ask Swish about a pending payment when it is due.

A lost callback never leaves the buyer waiting: once the payment has been
pending SWISH_POLL_AFTER_SECONDS, the status endpoint and the return page
read it from Swish (``settle.refresh_payment``), at most once per
SWISH_POLL_INTERVAL_SECONDS per order, whoever is looking.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ticketshop.orders.models import Order
from ticketshop.orders.selectors import effective_status

from . import settle
from .models import SwishPayment, SwishStatus
from .selectors import get_latest_payment


def _claim_check(payment: SwishPayment, *, now: datetime, interval: float) -> bool:
    """Take the right to ask Swish about the payment now (one asker per interval)."""
    stale = now - timedelta(seconds=interval)
    return bool(
        SwishPayment.objects.filter(pk=payment.pk)
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=stale))
        .update(checked_at=now)
    )


def poll_if_due(*, order: Order, now: datetime | None = None) -> bool:
    """Ask Swish about the order's pending payment if the buyer has waited a
    while and nobody asked recently. Return whether it asked."""
    now = now or timezone.now()
    if not order.payment_pending:
        return False
    payment = get_latest_payment(order_id=order.pk)
    if payment is None or payment.status != SwishStatus.CREATED:
        return False
    if now - payment.created_at < timedelta(seconds=settings.SWISH_POLL_AFTER_SECONDS):
        return False
    if not _claim_check(
        payment, now=now, interval=settings.SWISH_POLL_INTERVAL_SECONDS
    ):
        return False
    settle.refresh_payment(payment=payment, now=now)
    return True


@dataclass(frozen=True)
class BuyerView:
    """An order as its buyer's pages see it (fresh, after any due poll)."""

    order: Order
    status: str
    payment: SwishPayment | None


def read_order_for_buyer(*, order: Order, now: datetime | None = None) -> BuyerView:
    """Return the order's state for its buyer, asking Swish first when due.

    The one source of session_payment_status and of the return page the Swish
    app opens, so both read the same state and Swish is asked at most once
    per SWISH_POLL_INTERVAL_SECONDS per order, whoever is looking.
    """
    now = now or timezone.now()
    if poll_if_due(order=order, now=now):
        order.refresh_from_db()
    return BuyerView(
        order=order,
        status=effective_status(order, now=now),
        payment=get_latest_payment(order_id=order.pk),
    )
