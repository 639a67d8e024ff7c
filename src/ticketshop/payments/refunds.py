"""Refunds an organiser decides: what is owed, and recording the refunds.

Each refund is recorded (CREATING, by the refund's state machine) and its
send task queued in the one transaction that decides it, with the order's
transition (``refund_pending``, ``cancel``, ``cancel_tickets``): either both
are committed or neither. A task worker then sends it (``refund_send.py``).
"""

import calendar
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ticketshop.orders import lifecycle
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus

from .common import new_swish_id
from .errors import RefundNotPossible, RefundTooLate
from .machines import create_refund
from .models import REFUND_FAILED, RefundStatus, SwishPayment, SwishRefund, SwishStatus

logger = logging.getLogger(__name__)

# Refunds waiting to be sent beyond this many are each queued for their own
# turn (SWISH_REFUND_SPACING_SECONDS apart) instead of all at once.
REFUND_BURST = 100


def _refunded(payment: SwishPayment) -> Decimal:
    """What refunds of the payment pay back, will or did (every refund not
    failed: queued, at Swish, or paid). A second refund of the same money is
    never made while one is under way."""
    total = payment.refunds.exclude(status__in=REFUND_FAILED).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0")


def _unrefunded(order: Order) -> list[tuple[SwishPayment, Decimal]]:
    """Paid payments of the order with what no refund covers yet."""
    found = []
    for payment in SwishPayment.objects.filter(
        order=order, status=SwishStatus.PAID
    ).order_by("id"):
        left = payment.amount - _refunded(payment)
        if left > 0:
            found.append((payment, left))
    return found


def _accepted(order: Order, payment: SwishPayment) -> bool:
    """The payment is the one that paid the order (not a late or second one)."""
    return (
        order.status == OrderStatus.PAID
        and payment.payment_reference == order.payment_reference
    )


def money_to_return(order: Order) -> list[tuple[SwishPayment, Decimal]]:
    """Paid money the shop did not accept: of a failed order, or a second
    payment of a paid one."""
    return [(p, left) for p, left in _unrefunded(order) if not _accepted(order, p)]


def owed(order: Order) -> list[tuple[SwishPayment, Decimal]]:
    """What the shop holds of the order beyond the price of its live tickets
    and no refund covers, per paid payment: money it did not accept, a
    refund that was refused or failed, the difference of a cheaper exchange."""
    # Swish holds the live tickets' price less what is due at the door.
    keep = (
        order.total_price - order.due_at_door
        if order.status == OrderStatus.PAID
        else Decimal(0)
    )
    found = []
    for payment, left in _unrefunded(order):
        amount = left - keep if _accepted(order, payment) else left
        if amount > 0:
            found.append((payment, amount))
    return found


def _months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the last
    day of that month if it is shorter: 31 March - 1 month = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def refund_too_late(payment: SwishPayment, *, now=None) -> RefundTooLate | None:
    """Why Swish would refuse to refund the payment for its age, or None.

    Swish refunds payments of the last 13 months (its RF02: "original
    payment … older than 13 months"); the shop stops at
    SWISH_REFUND_MAX_AGE_MONTHS (12), a month earlier, so that a refund
    recorded now is never refused for its age while it waits to be sent."""
    now = now or timezone.now()
    months = settings.SWISH_REFUND_MAX_AGE_MONTHS
    paid = payment.date_paid or payment.created_at
    if paid > _months_before(now, months):
        return None
    return RefundTooLate(timezone.localdate(paid).isoformat(), months)


def order_refund_too_late(order: Order, *, now=None) -> RefundTooLate | None:
    """Why a refund of the order's Swish money would be refused for its age
    (any of its paid payments not yet paid back in full), or None."""
    for payment, _left in _unrefunded(order):
        too_late = refund_too_late(payment, now=now)
        if too_late:
            return too_late
    return None


def _send_at(now) -> datetime:
    """When a refund recorded now may be sent: at once while fewer than
    REFUND_BURST refunds wait to be sent (the send slot spaces them
    SWISH_REFUND_SPACING_SECONDS apart), else at its own turn, so that a
    bulk cancel of an event queues its refunds spread out instead of
    handing every worker one to wait on (and holding up e-mails)."""
    waiting = SwishRefund.objects.filter(
        status=RefundStatus.CREATING, sent_at__isnull=True
    ).count()
    if waiting < REFUND_BURST:
        return now
    return now + timedelta(seconds=waiting * settings.SWISH_REFUND_SPACING_SECONDS)


def _new_refund(payment: SwishPayment, amount: Decimal, requested_by: str, *, now=None):
    """Record a refund (CREATING) and queue its sending, in the caller's
    transaction: either both are committed with the decision, or neither.
    Raises RefundTooLate for a payment older than Swish refunds."""
    if not (payment.raw or {}).get("payerAlias"):
        raise RefundNotPossible()
    now = now or timezone.now()
    too_late = refund_too_late(payment, now=now)
    if too_late:
        raise too_late
    send_at = _send_at(now)  # counted before this one is recorded
    refund = create_refund(
        payment=payment,
        refund_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        amount=amount,
        requested_by=requested_by[:150],
    )
    from .tasks import send_refund_task

    if send_at > now:
        send_refund_task.using(run_after=send_at).enqueue(refund.pk)
    else:
        send_refund_task.enqueue(refund.pk)
    return refund


def refund_order(*, order_id: int, requested_by: str = "", now=None) -> list[str]:
    """Refund an order's Swish money (one click in the admin); return refund ids.

    Money the shop did not accept (paid after the order failed, or paid
    twice) is returned and the order stays as it is. Otherwise a paid order
    is refunded (what is left of its payment) and thereby cancelled by the
    organiser (FAILED_ADMIN, seats released). Raises RefundNotPossible.
    The refunds are recorded here and sent by a task worker (send_refund).
    """
    with transaction.atomic(durable=True):
        refunds = record_order_refund(
            lock_order(order_id), requested_by=requested_by, now=now
        )
    return [refund.refund_id for refund in refunds]


def record_order_refund(order: Order, *, requested_by: str = "", now=None) -> list:
    """``refund_order`` in the caller's transaction, with the order locked by
    the caller (an organiser's use case that also writes its audit entry)."""
    now = now or timezone.now()
    payments = money_to_return(order)
    cancel_order = not payments and order.status == OrderStatus.PAID
    if cancel_order:
        payments = _unrefunded(order)
    if not payments:
        raise RefundNotPossible()
    refunds = [_new_refund(p, left, requested_by, now=now) for p, left in payments]
    if cancel_order:
        lifecycle.cancel(order, now=now)
        logger.info("order %s cancelled and refunded", order.reference)
    else:
        lifecycle.refund_pending(order)
    return refunds


def refund_tickets(
    *, order_id: int, ticket_ids, requested_by: str = "", now=None
) -> list[str]:
    """Cancel some tickets of a paid order and pay their price back through
    Swish (a partial refund; every ticket left: the whole order). An order
    not paid with Swish has nothing to refund: its tickets are just
    cancelled. Return the refund ids (sent by a task worker). Raises
    RefundNotPossible, and then nothing is cancelled.
    """
    with transaction.atomic(durable=True):
        refunds = record_ticket_refund(
            lock_order(order_id),
            ticket_ids=ticket_ids,
            requested_by=requested_by,
            now=now,
        )
    return [refund.refund_id for refund in refunds]


def record_ticket_refund(
    order: Order, *, ticket_ids, requested_by: str = "", now=None
) -> list:
    """``refund_tickets`` in the caller's transaction, with the order locked
    by the caller; RefundNotPossible leaves the caller to roll back."""
    now = now or timezone.now()
    if order.status != OrderStatus.PAID:
        raise RefundNotPossible()
    swish_paid = lifecycle.refund_expected(order)
    amount = lifecycle.cancel_tickets(order, ticket_ids=ticket_ids, now=now)
    refunds = []
    if swish_paid and amount > 0:
        accepted = [
            (p, left)
            for p, left in _unrefunded(order)
            if p.payment_reference == order.payment_reference
        ]
        if not accepted or accepted[0][1] < amount:
            raise RefundNotPossible()
        refunds.append(_new_refund(accepted[0][0], amount, requested_by, now=now))
    logger.info(
        "order %s: %s kr of cancelled tickets to refund", order.reference, amount
    )
    return refunds


def refund_owed(*, order_id: int, requested_by: str = "", now=None) -> list[str]:
    """Pay back what the shop holds of an order beyond the price of its live
    tickets: a refund that Swish refused or that failed (the retry), or the
    difference of an exchange to cheaper tickets. Return the refund ids
    (sent by a task worker). Raises RefundNotPossible when nothing is owed."""
    with transaction.atomic(durable=True):
        refunds = record_owed_refunds(lock_order(order_id), requested_by=requested_by)
    return [refund.refund_id for refund in refunds]


def record_owed_refunds(order: Order, *, requested_by: str = "") -> list:
    """``refund_owed`` in the caller's transaction, with the order locked by
    the caller."""
    refunds = [
        _new_refund(payment, amount, requested_by) for payment, amount in owed(order)
    ]
    if not refunds:
        raise RefundNotPossible()
    lifecycle.refund_pending(order)
    return refunds
