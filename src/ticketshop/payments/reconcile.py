"""Reconciliation: read every open payment request and refund from Swish.

Run by a task worker once per SWISH_RECONCILE_EVERY_SECONDS (``tasks.py``)
or by ``manage.py reconcile_payments``: it settles what a lost callback
left open, cancels requests nobody waits for, and resends refunds whose
send was lost.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ticketshop.orders.models import OrderStatus

from .common import creation_window, refund_send_grace
from .models import REFUND_OPEN, RefundStatus, SwishRefund, SwishStatus
from .refund_send import refresh_refund, send_refund
from .selectors import get_latest_payment, list_open_payments
from .settle import (
    cancel_payment,
    list_unhandled_unaccepted,
    recover_unaccepted_payment,
    refresh_payment,
)

logger = logging.getLogger(__name__)

# Stuck refunds reconciliation sends again in one pass (each takes a slot).
_RESEND_PER_PASS = 10


def reconcile_payments(*, now: datetime | None = None) -> dict[str, int]:
    """Read every open payment request and refund from Swish and settle it.

    A request Swish still calls CREATED after SWISH_PENDING_TIMEOUT_SECONDS,
    or whose order no longer waits for it, is cancelled (RP07: read again).
    A refund still CREATING after refund_send_grace() is sent again with its
    own id.
    """
    now = now or timezone.now()
    counts = Counter()
    timeout = timedelta(seconds=settings.SWISH_PENDING_TIMEOUT_SECONDS)
    for payment in list(list_open_payments().select_related("order")):
        if (
            payment.status == SwishStatus.CREATING
            and now - payment.created_at < creation_window()
        ):
            continue
        try:
            if payment.checked_at is None or payment.checked_at < now - timedelta(
                seconds=settings.SWISH_POLL_INTERVAL_SECONDS
            ):
                refresh_payment(payment=payment, now=now)
                counts["read"] += 1
            payment.refresh_from_db()
            order = payment.order
            order.refresh_from_db()
            if payment.status == SwishStatus.CREATED and (
                now - payment.created_at > timeout
                or order.status != OrderStatus.RESERVED
                or get_latest_payment(order_id=order.pk).pk != payment.pk
            ):
                cancel_payment(payment=payment, now=now)
                counts["cancelled"] += 1
        except Exception:
            # One bad row must not stop the others.
            logger.exception("reconciling payment %s", payment.request_id)
            counts["failed"] += 1
    # Money the order did not take, left unhandled (a recovery that failed,
    # or a process that died after recording the PAID): complete the order
    # or propose the refund and tell the organisers, now.
    for payment in list(list_unhandled_unaccepted()):
        try:
            recover_unaccepted_payment(payment_id=payment.pk, now=now)
            counts["unaccepted"] += 1
        except Exception:
            logger.exception("recovering the money of payment %s", payment.request_id)
            counts["failed"] += 1
    stuck_before = now - refund_send_grace()
    for refund in SwishRefund.objects.filter(status__in=REFUND_OPEN).order_by("pk"):
        try:
            if refund.status != RefundStatus.CREATING:
                refresh_refund(refund=refund, now=now)
                counts["refunds"] += 1
                continue
            # Recorded but not sent (its task lost, or a worker killed before
            # the PUT), or sent without an answer: resend the same id. A few
            # per pass (each waits for its refund slot); the rest next time.
            last = refund.sent_at or refund.created_at
            if last > stuck_before or counts["refunds_resent"] >= _RESEND_PER_PASS:
                continue
            logger.warning(
                "refund %s still CREATING since %s: sending it again",
                refund.refund_id,
                last,
            )
            send_refund(refund_pk=refund.pk, holder="reconciliation", now=now)
            counts["refunds_resent"] += 1
        except Exception:
            logger.exception("reconciling refund %s", refund.refund_id)
            counts["failed"] += 1
    if counts:
        logger.info("reconciliation: %s", dict(counts))
    return dict(counts)
