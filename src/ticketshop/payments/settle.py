"""Settling a payment request from Swish's state, whichever way it arrives.

A read queued by the callback (which only names the request) or by the
schedule of reads (``reads.py``), reconciliation and a cancel's answer all end in
``apply_payment_object``: the request read from Swish is recorded by the
payment's state machine and the order settled, in one transaction with the
order locked, so the same state changes the order once. "Swish says paid"
is ``lifecycle.pay`` and the ticket e-mail's scheduling, in one transaction.
An organiser settles an unknown outcome (DS24) by hand
(``resolve_unknown_payment``).
"""

import json
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ticketshop.delivery.services import schedule_ticket_delivery
from ticketshop.orders import lifecycle
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus

from . import reads, swish
from .common import UNKNOWN_OUTCOME, creation_window, parse_swish_time
from .machines import FINAL_STATUSES, PAYMENT, PAYMENT_BY_SWISH, SWISH_STATUSES, move
from .models import OPEN_STATUSES, SwishPayment, SwishRefund, SwishStatus
from .selectors import get_latest_payment
from .swish import SwishRefused, SwishUnavailable
from .swish_read import read_and_apply

logger = logging.getLogger(__name__)


def lock_payment(payment_id: int) -> tuple[Order, SwishPayment]:
    """Lock the payment's order (the lock of all its payments), then read the
    payment as it is now: a concurrent callback may have settled it."""
    order_id = SwishPayment.objects.values_list("order_id", flat=True).get(
        pk=payment_id
    )
    order = lock_order(order_id)
    return order, SwishPayment.objects.get(pk=payment_id)


def reject(
    order: Order, payment: SwishPayment, name: str, code: str, now: datetime
) -> None:
    """No request exists at Swish (``name``: "rejected" or "not_found"): record
    it, and end the order's payment if it was its latest; the hold stays."""
    payment.error_code = code[:16]
    payment.settled_at = now
    move(PAYMENT, payment, name, ["checked_at", "error_code", "settled_at"])
    latest = get_latest_payment(order_id=order.pk)
    if (
        order.status == OrderStatus.RESERVED
        and order.payment_pending
        and latest.pk == payment.pk
    ):
        lifecycle.end_payment(order)


def apply_payment_object(*, payment_id: int, obj: dict, now: datetime) -> None:
    """Apply a payment request object read from Swish (never a callback body)."""
    status = obj.get("status") if isinstance(obj, dict) else None
    with transaction.atomic(durable=True):
        order, payment = lock_payment(payment_id)
        payment.raw = obj
        payment.checked_at = now
        if status not in SWISH_STATUSES:
            logger.warning(
                "Swish status %r of %s is unknown; nothing changed",
                status,
                payment.request_id,
            )
            payment.save(update_fields=["raw", "checked_at", "updated_at"])
            return
        if payment.status in FINAL_STATUSES:
            if payment.status != status:
                logger.error(
                    "Swish says %s for %s, settled earlier as %s",
                    status,
                    payment.request_id,
                    payment.status,
                )
                lifecycle.flag(
                    order,
                    f"Swish now reports {status} for payment request "
                    f"{payment.request_id}, settled earlier as {payment.status}.",
                )
            payment.save(update_fields=["raw", "checked_at", "updated_at"])
            return
        fields = ["raw", "checked_at", "error_code", "error_message"]
        if status in FINAL_STATUSES:
            payment.settled_at = now
            fields.append("settled_at")
        payment.error_code = (obj.get("errorCode") or "")[:16]
        payment.error_message = (obj.get("errorMessage") or "")[:255]
        if status == SwishStatus.PAID:
            payment.payment_reference = (obj.get("paymentReference") or "")[:64]
            payment.date_paid = parse_swish_time(obj.get("datePaid")) or now
            fields += ["payment_reference", "date_paid"]
        if payment.status == status:
            # Still CREATED: what Swish said is kept, the state is the same.
            payment.save(update_fields=[*fields, "updated_at"])
        else:
            move(PAYMENT, payment, PAYMENT_BY_SWISH[status], fields)
        _settle_order(order=order, payment=payment, now=now)


def _settle_order(*, order: Order, payment: SwishPayment, now: datetime) -> None:
    latest = get_latest_payment(order_id=order.pk)
    is_latest = latest is not None and latest.pk == payment.pk
    if payment.status == SwishStatus.PAID:
        if lifecycle.can_pay(order, now=now):
            lifecycle.pay(
                order,
                reference=payment.payment_reference,
                paid_at=payment.date_paid or now,
                now=now,
            )
            schedule_ticket_delivery(order=order)
            logger.info(
                "order %s paid (%s)", order.reference, payment.payment_reference
            )
            return
        # The shop had given the order up (or it was paid twice): keep the
        # money visible, flag it, and offer the refund action.
        logger.warning(
            "payment %s PAID for order %s that is %s",
            payment.request_id,
            order.reference,
            order.status,
        )
        lifecycle.flag(
            order,
            f"Swish payment {payment.payment_reference} ({payment.amount} kr) was "
            f"paid while the order was {order.status}: refund it.",
        )
        if is_latest and order.payment_pending:
            lifecycle.end_payment(order)
        return
    if payment.status == SwishStatus.CREATED:
        return
    if payment.error_code == UNKNOWN_OUTCOME:
        # The money may or may not have moved: hold the seats, ask a human.
        lifecycle.flag(
            order,
            f"Swish payment request {payment.request_id} ended in DS24 (outcome "
            "unknown): check with the bank, then mark it paid or release it.",
        )
        logger.warning("order %s: payment outcome unknown (DS24)", order.reference)
        return
    if not (is_latest and order.payment_pending):
        return
    if order.status == OrderStatus.RESERVED:
        lifecycle.fail(order)
        logger.info(
            "order %s failed: Swish %s %s",
            order.reference,
            payment.status,
            payment.error_code,
        )
    else:
        lifecycle.end_payment(order)


def refresh_payment(*, payment: SwishPayment, now: datetime | None = None) -> str:
    """Read the payment request from Swish and apply what it says (counted;
    whether Swish answered is recorded, reads.watched). Returns what
    read_and_apply did."""
    now = now or timezone.now()
    reads.count_read(payment.pk)
    return read_and_apply(
        read=reads.watched(swish.read_payment_request),
        swish_id=payment.request_id,
        apply=lambda obj: apply_payment_object(payment_id=payment.pk, obj=obj, now=now),
        missing=lambda: _handle_not_found(payment_id=payment.pk, now=now),
    )


def _handle_not_found(*, payment_id: int, now: datetime) -> None:
    """Swish does not know the request (404)."""
    with transaction.atomic(durable=True):
        order, payment = lock_payment(payment_id)
        payment.checked_at = now
        if payment.status == SwishStatus.CREATING:
            if now - payment.created_at < creation_window():
                # Its PUT may still be on the way.
                payment.save(update_fields=["checked_at", "updated_at"])
                return
            reject(order, payment, "not_found", "NOTFOUND", now)
            return
        payment.save(update_fields=["checked_at", "updated_at"])
        if payment.status == SwishStatus.CREATED:
            lifecycle.flag(
                order,
                f"Swish no longer knows payment request {payment.request_id}: "
                "check with Swish, then mark it paid or release it.",
            )


def cancel_payment(*, payment: SwishPayment, now: datetime | None = None) -> None:
    """Cancel an open payment request; apply whatever Swish then says.

    RP07 means it settled first (the payer may just have paid): read it and
    act on that, so a payment made during the cancel is never lost.
    """
    now = now or timezone.now()
    try:
        obj = swish.cancel_payment_request(payment.request_id)
    except SwishRefused as exc:
        if "RP07" in exc.codes:
            logger.info("cancel of %s: already settled (RP07)", payment.request_id)
            refresh_payment(payment=payment, now=now)
        elif exc.status == 404:
            _handle_not_found(payment_id=payment.pk, now=now)
        else:
            logger.warning("cancel of %s refused: %s", payment.request_id, exc)
        return
    except SwishUnavailable as exc:
        logger.warning("cancel of %s failed: %s", payment.request_id, exc)
        return
    apply_payment_object(payment_id=payment.pk, obj=obj, now=now)


def cancel_superseded_order(*, order: Order, now: datetime | None = None) -> None:
    """Cancel the pending payment of an order its session is replacing.

    Runs outside any transaction (network I/O). If the cancel cannot be
    confirmed, the order keeps its seats until reconciliation settles it.
    """
    now = now or timezone.now()
    for payment in SwishPayment.objects.filter(
        order_id=order.pk, status__in=OPEN_STATUSES
    ):
        cancel_payment(payment=payment, now=now)
    with transaction.atomic(durable=True):
        locked = lock_order(order.pk)
        if (
            locked.payment_pending
            and not SwishPayment.objects.filter(
                order_id=order.pk, status__in=OPEN_STATUSES
            ).exists()
            and locked.status == OrderStatus.RESERVED
            and not locked.needs_attention
        ):
            # Nothing open at Swish any more: let reserve_tickets release it.
            lifecycle.end_payment(locked)


# --- Callback, polling, reconciliation -----------------------------------------


# What handle_callback did.
CALLBACK_QUEUED = "queued"
CALLBACK_IGNORED = "ignored"


def handle_callback(
    *, body: bytes, callback_identifier: str | None, now: datetime | None = None
) -> str:
    """Act on a Swish callback without trusting its body: it only names the
    request, whose read from Swish is queued for a task worker (reads.py);
    nothing here calls Swish. Returns CALLBACK_QUEUED (a read is queued, by
    this callback or an earlier one) or CALLBACK_IGNORED (malformed, unknown,
    the wrong identifier, or settled already: logged). Raises only when the
    database fails."""
    now = now or timezone.now()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        logger.warning("Swish callback with a malformed body (%d bytes)", len(body))
        return CALLBACK_IGNORED
    request_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(request_id, str) or not request_id:
        logger.warning("Swish callback without an id")
        return CALLBACK_IGNORED
    payment = SwishPayment.objects.filter(request_id=request_id).first()
    if payment is None:
        refund = SwishRefund.objects.filter(refund_id=request_id).first()
        if refund is None:
            logger.warning("Swish callback for unknown request %s", request_id[:40])
            return CALLBACK_IGNORED
        if callback_identifier is not None and not constant_time_compare(
            callback_identifier, refund.callback_identifier
        ):
            logger.warning("refund callback %s: wrong callbackIdentifier", request_id)
            return CALLBACK_IGNORED
        from .tasks import read_refund_task

        read_refund_task.enqueue(refund.pk)
        return CALLBACK_QUEUED
    if callback_identifier is not None and not constant_time_compare(
        callback_identifier, payment.callback_identifier
    ):
        logger.warning("Swish callback %s: wrong callbackIdentifier", request_id)
        return CALLBACK_IGNORED
    if payment.status in FINAL_STATUSES:
        # Settled already (a repeated callback): nothing can change.
        logger.info("Swish callback %s: already %s", request_id, payment.status)
        return CALLBACK_IGNORED
    reads.note_callback(payment=payment, now=now)
    return CALLBACK_QUEUED


def resolve_unknown_payment(
    *, order_id: int, paid: bool, now: datetime | None = None
) -> None:
    """Settle by hand an order whose payment outcome Swish could not tell
    (DS24, or a request Swish no longer knows), after checking with the bank."""
    with transaction.atomic(durable=True):
        settle_unknown_payment(lock_order(order_id), paid=paid, now=now)


def settle_unknown_payment(
    order: Order, *, paid: bool, now: datetime | None = None
) -> bool:
    """``resolve_unknown_payment`` in the caller's transaction, with the order
    locked by the caller (an organiser's use case that also writes its audit
    entry). Returns False, changing nothing, unless its outcome is unknown."""
    now = now or timezone.now()
    if order.status != OrderStatus.RESERVED or not order.payment_pending:
        return False
    if paid:
        latest = get_latest_payment(order_id=order.pk)
        lifecycle.pay(
            order,
            reference=latest.payment_reference if latest is not None else "",
            paid_at=now,
            now=now,
        )
    else:
        lifecycle.fail(order)
    lifecycle.clear_flag(order, f"Resolved by hand as {'paid' if paid else 'unpaid'}.")
    for payment in SwishPayment.objects.filter(
        order=order, status__in=OPEN_STATUSES
    ).order_by("pk"):
        payment.settled_at = now
        name = "resolved_paid" if paid else "resolved_unpaid"
        move(PAYMENT, payment, name, ["settled_at"])
    if paid:
        schedule_ticket_delivery(order=order)
    return True
