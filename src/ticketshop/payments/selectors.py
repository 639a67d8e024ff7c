"""Reads of the shop's Swish payments."""

from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ticketshop.db import sql

from .models import OPEN_STATUSES, REFUND_IN_FLIGHT, SwishPayment, SwishRefund


def get_latest_payment(*, order_id: int) -> SwishPayment | None:
    """Return the order's most recent payment request: the one that counts.
    Every status poll and every settlement asks it: one statement written
    once per process (``_latest_payment_sql``), not the ORM's query
    compiled anew each time."""
    alias = connection.alias
    return sql.fetch_instance(
        alias, SwishPayment, _latest_payment_sql(alias), [order_id]
    )


def get_payment(*, payment_id: int) -> SwishPayment:
    """Return the payment of this id (raises ``DoesNotExist``). Every
    settlement reads it again under its order's lock: one statement written
    once per process, as ``get_latest_payment``."""
    alias = connection.alias
    payment = sql.fetch_instance(alias, SwishPayment, _payment_sql(alias), [payment_id])
    if payment is None:
        raise SwishPayment.DoesNotExist(f"no payment {payment_id}")
    return payment


@cache
def _payment_sql(alias: str) -> str:
    """A payment by its id; parameter: the id."""
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, SwishPayment, 'p')}"  # noqa: S608
        f" FROM {sql.table(SwishPayment, 'p', using=alias)}"
        f" WHERE {sql.column(SwishPayment, 'pk', 'p', using=alias)} = %s"
    )


@cache
def _latest_payment_sql(alias: str) -> str:
    """An order's payment of the highest id; parameter: the order's id."""
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, SwishPayment, 'p')}"  # noqa: S608
        f" FROM {sql.table(SwishPayment, 'p', using=alias)}"
        f" WHERE {sql.column(SwishPayment, 'order', 'p', using=alias)} = %s"
        f" ORDER BY {sql.column(SwishPayment, 'pk', 'p', using=alias)} DESC"
        " LIMIT 1"
    )


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
