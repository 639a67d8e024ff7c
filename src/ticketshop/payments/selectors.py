"""Reads of the shop's Swish payments."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import OPEN_STATUSES, REFUND_IN_FLIGHT, SwishPayment, SwishRefund


def get_latest_payment(*, order_id: int) -> SwishPayment | None:
    """Return the order's most recent payment request: the one that counts."""
    return SwishPayment.objects.filter(order_id=order_id).order_by("-id").first()


def get_payment_by_token(*, token: str) -> SwishPayment | None:
    return SwishPayment.objects.filter(token=token).first() if token else None


def list_open_payments():
    """Payment requests Swish has not settled (or that may not exist yet)."""
    return SwishPayment.objects.filter(status__in=OPEN_STATUSES).order_by("id")


def list_stuck_refunds(*, now=None):
    """Refunds Swish took (CREATED, VALIDATED, DEBITED) but has not paid
    back SWISH_REFUND_STUCK_HOURS after they were recorded, oldest first.
    Reconciliation keeps reading them; an organiser should ask Swish (the
    merchant portal, or the bank) where the money is."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.SWISH_REFUND_STUCK_HOURS)
    return (
        SwishRefund.objects.filter(status__in=REFUND_IN_FLIGHT, created_at__lte=since)
        .select_related("payment__order")
        .order_by("created_at", "id")
    )
