"""Reads of the shop's Swish payments."""

from .models import OPEN_STATUSES, SwishPayment


def get_latest_payment(*, order_id: int) -> SwishPayment | None:
    """Return the order's most recent payment request: the one that counts."""
    return SwishPayment.objects.filter(order_id=order_id).order_by("-id").first()


def get_payment_by_token(*, token: str) -> SwishPayment | None:
    return SwishPayment.objects.filter(token=token).first() if token else None


def list_open_payments():
    """Payment requests Swish has not settled (or that may not exist yet)."""
    return SwishPayment.objects.filter(status__in=OPEN_STATUSES).order_by("id")
