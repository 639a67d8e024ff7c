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
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ticketshop.delivery.services import schedule_ticket_delivery
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.seatlock import lock_event

from . import reads, swish
from .common import (
    NOT_FOUND,
    UNKNOWN_OUTCOME,
    creation_window,
    outcome_unknown,
    parse_swish_time,
)
from .machines import FINAL_STATUSES, PAYMENT, PAYMENT_BY_SWISH, SWISH_STATUSES, move
from .models import OPEN_STATUSES, SwishPayment, SwishRefund, SwishStatus
from .refunds import money_to_return
from .selectors import get_latest_payment, get_payment
from .signals import money_not_accepted
from .swish import SwishRefused, SwishUnavailable
from .swish_read import read_and_apply

logger = logging.getLogger(__name__)


def lock_payment(
    payment_id: int, *, order_id: int | None = None
) -> tuple[Order, SwishPayment]:
    """Lock the payment's order (the lock of all its payments), then read the
    payment as it is now: a concurrent callback may have settled it.
    ``order_id``: the payment's order, when the caller has read it (a
    payment never changes its order)."""
    if order_id is None:
        order_id = SwishPayment.objects.values_list("order_id", flat=True).get(
            pk=payment_id
        )
    order = lock_order(order_id)
    return order, get_payment(payment_id=payment_id)


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


def differences_from_request(*, payment: SwishPayment, order: Order, obj: dict) -> str:
    """What Swish's object says that differs from the request the shop made
    (amount, currency, payee, reference); "" when nothing does. A field
    Swish left out is not compared."""
    found = []
    amount = obj.get("amount")
    if amount is not None:
        try:
            same = Decimal(str(amount)) == payment.amount
        except (InvalidOperation, ValueError):
            same = False
        if not same:
            found.append(f"amount {str(amount)[:20]} (asked {payment.amount})")
    expected = {
        "currency": "SEK",
        "payeeAlias": settings.SWISH_PAYEE_ALIAS,
        "payeePaymentReference": order.reference,
    }
    for key, value in expected.items():
        got = obj.get(key)
        if got is not None and str(got) != value:
            found.append(f"{key} {str(got)[:40]!r} (asked {value!r})")
    return "; ".join(found)[:255]


def apply_payment_object(
    *,
    payment_id: int,
    obj: dict,
    now: datetime,
    order_id: int | None = None,
    ending_read: bool = False,
) -> bool:
    """Apply a payment request object read from Swish (never a callback body).

    An object that differs from the request the shop made is flagged and
    never applied. Money for an order the shop had given up is recorded,
    then ``recover_unaccepted_payment`` completes the order or proposes the
    refund (its own transaction: it takes the event's seat lock first).
    ``ending_read``: a read loop's read (reads._read), whose claim ends
    with the same write of the payment (no statement of its own), unless
    money is recovered next: the claim lasts until that is done. Returns
    whether the claim ended here."""
    status = obj.get("status") if isinstance(obj, dict) else None
    with transaction.atomic(durable=True):
        order, payment = lock_payment(payment_id, order_id=order_id)
        payment.raw = obj
        payment.checked_at = now
        # Every write of the payment below takes these fields.
        written = ["raw", "checked_at"]
        recovering = (
            status == SwishStatus.PAID
            and payment.status != SwishStatus.PAID
            and not lifecycle.can_pay(order, now=now)
        )
        ends_read = ending_read and not recovering
        if ends_read:
            payment.reading_until = None
            written.append("reading_until")
        if status not in SWISH_STATUSES:
            logger.warning(
                "Swish status %r of %s is unknown; nothing changed",
                status,
                payment.request_id,
            )
            payment.save(update_fields=[*written, "updated_at"])
            return ends_read
        mismatch = differences_from_request(payment=payment, order=order, obj=obj)
        if mismatch:
            _flag_mismatch(order, payment, mismatch, status, written)
            return ends_read
        if payment.status in FINAL_STATUSES and not (
            status == SwishStatus.PAID and payment.status != SwishStatus.PAID
        ):
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
            payment.save(update_fields=[*written, "updated_at"])
            return ends_read
        fields = [*written, "error_code", "error_message"]
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
        elif payment.status in FINAL_STATUSES:
            # Money after an end the shop recorded (released by hand, or an
            # earlier answer): recorded, never dropped.
            logger.error(
                "Swish says PAID for %s, recorded earlier as %s",
                payment.request_id,
                payment.status,
            )
            move(PAYMENT, payment, "paid_late", fields)
        else:
            move(PAYMENT, payment, PAYMENT_BY_SWISH[status], fields)
        unaccepted = _settle_order(order=order, payment=payment, now=now)
    if unaccepted:
        recover_unaccepted_payment(payment_id=payment_id, now=now)
    return ends_read


def _flag_mismatch(
    order: Order, payment: SwishPayment, mismatch: str, status: str, written: list
) -> None:
    """Swish's answer differs from the request: keep it for audit, flag the
    order once per difference, apply nothing (the caller's transaction)."""
    logger.error(
        "Swish's answer for %s (order %s, %s) differs from the request: %s;"
        " not applied",
        payment.request_id,
        order.reference,
        status,
        mismatch,
    )
    fields = list(written)
    if payment.mismatch != mismatch:
        payment.mismatch = mismatch
        fields.append("mismatch")
        lifecycle.flag(
            order,
            f"Swish's answer for payment request {payment.request_id} "
            f"({status}) differs from the request: {mismatch}. Nothing was "
            "applied: check with Swish.",
        )
    payment.save(update_fields=[*fields, "updated_at"])


def _settle_order(*, order: Order, payment: SwishPayment, now: datetime) -> bool:
    """Settle the order by its payment's new state; True when the payment
    is money the order did not take (``recover_unaccepted_payment`` next)."""

    def is_latest() -> bool:
        latest = get_latest_payment(order_id=order.pk)
        return latest is not None and latest.pk == payment.pk

    if payment.status == SwishStatus.PAID:
        if lifecycle.can_pay(order, now=now):
            # The ticket e-mail is scheduled first and ``pay`` comes last:
            # paying takes the receipt's number, whose counter row stays
            # locked to the commit, and every concurrent payer waits for it.
            # Nothing but the receipt's own rows is written after the number
            # (bench/README.md, "the receipt's number last").
            schedule_ticket_delivery(order=order)
            lifecycle.pay(
                order,
                reference=payment.payment_reference,
                paid_at=payment.date_paid or now,
                now=now,
            )
            logger.info(
                "order %s paid (%s)", order.reference, payment.payment_reference
            )
            return False
        # The shop had given the order up (or it was paid twice): keep the
        # money visible and flagged until it is taken or refunded.
        logger.warning(
            "payment %s PAID for order %s that is %s",
            payment.request_id,
            order.reference,
            order.status,
        )
        lifecycle.flag(order, _unaccepted_reason(order, payment))
        if order.payment_pending and is_latest():
            lifecycle.end_payment(order)
        return True
    if payment.status == SwishStatus.CREATED:
        return False
    if payment.error_code == UNKNOWN_OUTCOME:
        # The money may or may not have moved: hold the seats, ask a human.
        lifecycle.flag(
            order,
            f"Swish payment request {payment.request_id} ended in DS24 (outcome "
            "unknown): check with the bank, then mark it paid or release it.",
        )
        logger.warning("order %s: payment outcome unknown (DS24)", order.reference)
        return False
    if not (order.payment_pending and is_latest()):
        return False
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
    return False


def _unaccepted_reason(order: Order, payment: SwishPayment) -> str:
    return (
        f"Swish payment {payment.payment_reference} ({payment.amount} kr) was "
        f"paid while the order was {order.status}: refund it."
    )


def recover_unaccepted_payment(*, payment_id: int, now: datetime | None = None) -> str:
    """Money Swish took for an order the shop had given up (lapsed, failed,
    released): complete the order if its seats are still free and the event
    has not begun (``lifecycle.pay_late``, the tickets e-mailed); else
    propose the refund (the order stays flagged, "Refund via Swish"
    offered) and tell the organisers (``money_not_accepted``, once per
    payment). Returns "completed", "refund" or "" (nothing to do). Marks
    the payment handled in the same transaction; reconciliation runs this
    for any such payment left unhandled (``list_unhandled_unaccepted``)."""
    now = now or timezone.now()
    order_id, event_id = SwishPayment.objects.values_list(
        "order_id", "order__event_id"
    ).get(pk=payment_id)
    with transaction.atomic(durable=True):
        # Lock order: the event (its seats), then the order.
        lock_event(event_id=event_id)
        order, payment = lock_payment(payment_id)
        if payment.status != SwishStatus.PAID:
            return ""
        payment.unaccepted_handled_at = now
        payment.save(update_fields=["unaccepted_handled_at", "updated_at"])
        if not any(p.pk == payment.pk for p, _left in money_to_return(order)):
            return ""
        if lifecycle.may_pay_late(order, now=now):
            try:
                with transaction.atomic():
                    lifecycle.pay_late(
                        order,
                        reference=payment.payment_reference,
                        paid_at=payment.date_paid or now,
                        now=now,
                    )
            except OutOfTickets:
                logger.warning(
                    "order %s: money arrived late and its seats are gone",
                    order.reference,
                )
            else:
                schedule_ticket_delivery(order=order)
                lifecycle.clear_flag(
                    order,
                    f"Completed when Swish payment {payment.payment_reference} "
                    "arrived: its seats were still free.",
                )
                logger.info(
                    "order %s completed by money that arrived late (%s)",
                    order.reference,
                    payment.payment_reference,
                )
                return "completed"
        reason = _unaccepted_reason(order, payment)
        if reason not in order.attention_reason:
            lifecycle.flag(order, reason)
        money_not_accepted.send(sender=SwishPayment, order=order, payment=payment)
        return "refund"


def list_unhandled_unaccepted():
    """Paid payments their order never took (not its payment reference: a
    paid order later cancelled took its payment) and no recovery has
    handled (its run failed, or the process died after recording the PAID)."""
    return (
        SwishPayment.objects.filter(
            status=SwishStatus.PAID, unaccepted_handled_at__isnull=True
        )
        .exclude(payment_reference=F("order__payment_reference"))
        .order_by("pk")
    )


def refresh_payment(
    *, payment: SwishPayment, now: datetime | None = None, counted: bool = False
) -> str:
    """Read the payment request from Swish and apply what it says (counted,
    unless the caller has: ``counted``; whether Swish answered is recorded,
    reads.watched). Returns what read_and_apply did."""
    now = now or timezone.now()
    if not counted:
        reads.count_read(payment.pk)
    return _read_and_apply(payment, now=now)[0]


def read_claimed(*, payment: SwishPayment, now: datetime) -> bool:
    """A read loop's read of the payment it claimed (reads._read; counted by
    the claim): read it from Swish and apply what it says. Returns whether
    the claim ended with the answer's record (apply_payment_object);
    otherwise the caller ends it."""
    return _read_and_apply(payment, now=now, ending_read=True)[1]


def _read_and_apply(
    payment: SwishPayment, *, now: datetime, ending_read: bool = False
) -> tuple[str, bool]:
    """read_and_apply for the payment: what it did, and whether the read's
    claim ended with the answer's record."""
    ended = False

    def apply(obj: dict) -> None:
        nonlocal ended
        ended = apply_payment_object(
            payment_id=payment.pk,
            obj=obj,
            now=now,
            order_id=payment.order_id,
            ending_read=ending_read,
        )

    done = read_and_apply(
        read=reads.watched(swish.read_payment_request),
        swish_id=payment.request_id,
        apply=apply,
        missing=lambda: _handle_not_found(payment_id=payment.pk, now=now),
    )
    return done, ended


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
        if payment.status == SwishStatus.CREATED:
            # Swish no longer knows a request it had taken: the outcome is
            # unknown; an organiser may now settle it by hand.
            known = payment.error_code == NOT_FOUND
            payment.error_code = NOT_FOUND
            payment.save(update_fields=["checked_at", "error_code", "updated_at"])
            if known:
                return
            lifecycle.flag(
                order,
                f"Swish no longer knows payment request {payment.request_id}: "
                "check with Swish, then mark it paid or release it.",
            )
            return
        payment.save(update_fields=["checked_at", "updated_at"])


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
    except (ValueError, UnicodeDecodeError, RecursionError):
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
    if payment.status == SwishStatus.PAID:
        # Paid already (a repeated callback): nothing can change. Any other
        # end is read again: money after a release is never dropped.
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
    latest = get_latest_payment(order_id=order.pk)
    if not outcome_unknown(latest):
        # No final status Swish did not report: a request still open is
        # cancelled at Swish first (``ask_swish_to_cancel``).
        return False
    if paid:
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


def ask_swish_to_cancel(*, order_id: int, now: datetime | None = None) -> str:
    """Before an organiser settles an order by hand: cancel its open request
    at Swish and apply the answer (outside any transaction). Swish may say
    it was paid (RP07, then read: the order is paid), cancel it (the order
    is released by Swish's word), or not know it (the outcome is unknown:
    only then may it be settled by hand). Returns the payment's state after:
    its status, or "unknown", or "unreachable" (nothing changed)."""
    now = now or timezone.now()
    payment = get_latest_payment(order_id=order_id)
    if payment is None:
        return ""
    if payment.status in OPEN_STATUSES and not outcome_unknown(payment):
        cancel_payment(payment=payment, now=now)
        payment.refresh_from_db()
        if payment.status in OPEN_STATUSES and not outcome_unknown(payment):
            return "unreachable"
    return "unknown" if outcome_unknown(payment) else payment.status
