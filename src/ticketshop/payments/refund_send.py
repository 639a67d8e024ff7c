"""Sending refunds to Swish and recording what Swish says of them.

A task worker sends each recorded (CREATING) refund with its own id
(``send_refund``, spaced by a lease slot); reconciliation resends one whose
send was lost. Swish's answers and the refund's later states (read after a
callback, by reconciliation or after a resend) are recorded by the refund's
state machine, with the order's transition, in one transaction with the
order locked.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ticketshop import audit
from ticketshop.orders import lifecycle
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order

from . import swish
from .common import creation_window, refund_send_grace
from .machines import REFUND, REFUND_BY_SWISH, SWISH_REFUND_STATUSES, move
from .models import (
    REFUND_FAILED,
    REFUND_IN_FLIGHT,
    REFUND_OPEN,
    RefundStatus,
    SwishRefund,
)
from .refunds import owed
from .swish import SwishRefused, SwishUnavailable
from .swish_read import APPLIED, MISSING, read_and_apply

logger = logging.getLogger(__name__)

REFUND_SLOT = "payments.refund-spacing"
# Refunds already in Swish's hands: RF09 (v2 refunds), RP09 (as for payments).
_REFUND_EXISTS = {"RF09", "RP09"}


def send_refund(
    *, refund_pk: int, holder: str = "", now: datetime | None = None
) -> str:
    """PUT a recorded (CREATING) refund to Swish with its own id and record
    the answer; return what happened.

    Each PUT takes a slot first: at least SWISH_REFUND_SPACING_SECONDS after
    the shop's previous refund, across all workers (a lease row,
    leases.services.wait_for_slot). A refund sent less than refund_send_grace()
    ago is left alone (another sender has it), so two senders never PUT it
    at once; sending it again later is safe, because Swish refuses the same
    id twice (RF09), and that answer means: read it.
    """
    from ticketshop.leases.services import release_slot, wait_for_slot

    refund = (
        SwishRefund.objects.select_related("payment__order")
        .filter(pk=refund_pk)
        .first()
    )
    if refund is None or refund.status != RefundStatus.CREATING:
        return "not_pending"
    given_now = now
    now = now or timezone.now()
    grace = refund_send_grace()
    if refund.sent_at is not None and refund.sent_at > now - grace:
        return "claimed_elsewhere"
    # The slot is held while the PUT runs, and the next refund's PUT leaves
    # at least the spacing after this one's answer (so after Swish got it).
    hold = timedelta(seconds=2 * settings.SWISH_HTTP_TIMEOUT_SECONDS)
    slot = wait_for_slot(
        REFUND_SLOT,
        spacing=timedelta(seconds=settings.SWISH_REFUND_SPACING_SECONDS),
        holder=holder or "refund sender",
        hold=hold,
    )
    try:
        now = given_now or slot
        claimed = (
            SwishRefund.objects.filter(pk=refund.pk, status=RefundStatus.CREATING)
            .filter(Q(sent_at__isnull=True) | Q(sent_at__lte=now - grace))
            .update(sent_at=now, send_attempts=F("send_attempts") + 1)
        )
        if not claimed:
            return "claimed_elsewhere"
        return _put_refund(refund=refund, now=now, resend=refund.sent_at is not None)
    finally:
        release_slot(REFUND_SLOT, taken_at=slot, hold=hold)


def _put_refund(*, refund: SwishRefund, now: datetime, resend: bool) -> str:
    payment = refund.payment
    try:
        swish.create_refund(
            refund_id=refund.refund_id,
            original_payment_reference=payment.payment_reference,
            payer_alias_of_payment=payment.raw["payerAlias"],
            amount=refund.amount,
            message=swish.sanitise_message(
                f"Återbetalning {payment.order.reference}", refund=True
            ),
            reference=payment.order.reference,
            callback_identifier=refund.callback_identifier,
        )
    except SwishRefused as exc:
        if _REFUND_EXISTS & set(exc.codes):
            # An earlier PUT of this id arrived (its answer was lost): read it.
            logger.info(
                "refund %s exists at Swish already: reading it", refund.refund_id
            )
            refresh_refund(refund=refund, now=now)
            return "exists"
        if resend:
            # Sent before: if Swish has it, whatever this answer says (an RF08
            # for its own amount, say), it exists and is not made again; if
            # Swish cannot tell, it is sent again later.
            found = _read_after_refusal(refund=refund, now=now)
            if found != "missing":
                return "exists" if found == "exists" else "unavailable"
        _record_refund_refused(refund=refund, exc=exc)
        return "refused"
    except SwishUnavailable as exc:
        # Maybe created, maybe not: it stays CREATING, and reconciliation
        # sends the same id again after the grace (201, or RF09: read it).
        logger.warning(
            "refund %s: Swish unavailable (%s); reconciliation sends it again",
            refund.refund_id,
            exc,
        )
        return "unavailable"
    with transaction.atomic(durable=True):
        _, current = lock_refund(refund.pk)
        # A callback may have recorded a later state already: never go back.
        if current.status == RefundStatus.CREATING:
            move(REFUND, current, "sent")
    logger.info("refund %s of %s sent to Swish", refund.refund_id, payment.request_id)
    return "created"


def _read_after_refusal(*, refund: SwishRefund, now: datetime) -> str:
    """Read a refund Swish refused to take again: "exists" (read and
    applied), "missing" (404) or "unknown" (Swish could not say)."""
    found = read_and_apply(
        read=swish.read_refund,
        swish_id=refund.refund_id,
        apply=lambda obj: apply_refund_object(refund_pk=refund.pk, obj=obj, now=now),
    )
    return {APPLIED: "exists", MISSING: "missing"}.get(found, "unknown")


def lock_refund(refund_pk: int) -> tuple[Order, SwishRefund]:
    """Lock the refund's order (the lock of all its refunds), then read the
    refund as it is now: a callback may have recorded a later state."""
    order_id = (
        SwishRefund.objects.filter(pk=refund_pk)
        .values_list("payment__order_id", flat=True)
        .get()
    )
    order = lock_order(order_id)
    return order, SwishRefund.objects.get(pk=refund_pk)


def _owed_again(order: Order, refund: SwishRefund, name: str, code: str, note: str):
    """No refund exists at Swish (``name``: "refused" or "not_found"): record
    it, flag the order and mark its refund failed (the amount is owed again)."""
    refund.error_code = code[:16]
    move(REFUND, refund, name, ["error_code"])
    lifecycle.flag(order, f"Refund {refund.refund_id}: {note}")
    lifecycle.refund_failed(order)


def _record_refund_refused(*, refund: SwishRefund, exc: SwishRefused) -> None:
    """Swish refused the PUT (4xx): no refund exists; the amount is owed again."""
    with transaction.atomic(durable=True):
        order, current = lock_refund(refund.pk)
        if current.status != RefundStatus.CREATING:
            return
        code = ",".join(exc.codes)
        _owed_again(order, current, "refused", code, f"refused by Swish: {exc}")
    logger.warning("refund %s refused by Swish: %s", refund.refund_id, exc)


def refresh_refund(*, refund: SwishRefund, now: datetime | None = None) -> None:
    """Read a refund from Swish and record its state."""
    now = now or timezone.now()
    read_and_apply(
        read=swish.read_refund,
        swish_id=refund.refund_id,
        apply=lambda obj: apply_refund_object(refund_pk=refund.pk, obj=obj, now=now),
        missing=lambda: _refund_not_found(refund_pk=refund.pk, now=now),
    )


def _refund_not_found(*, refund_pk: int, now: datetime) -> None:
    """Swish does not know the refund (404)."""
    with transaction.atomic(durable=True):
        order, refund = lock_refund(refund_pk)
        if refund.status == RefundStatus.CREATING:
            # Never reached Swish (or not yet): it is sent again, same id.
            return
        if refund.status not in REFUND_IN_FLIGHT or (
            now - refund.created_at <= creation_window()
        ):
            return
        _owed_again(order, refund, "not_found", "NOTFOUND", "Swish has no such refund.")


def apply_refund_object(*, refund_pk: int, obj, now: datetime) -> None:
    """Apply a refund object read from Swish (never a callback body).

    Swish's refund statuses (swish.md section 9): CREATED, VALIDATED and
    DEBITED are on the way (the order's refund stays pending), PAID means
    the money is back (the order is refunded once nothing else is on its
    way or owed), ERROR means it failed (flagged; the amount is owed
    again). A status Swish adds later is kept in ``raw`` and logged, and the
    refund stays open, so reconciliation keeps reading it.
    """
    status = obj.get("status") if isinstance(obj, dict) else None
    with transaction.atomic(durable=True):
        order, current = lock_refund(refund_pk)
        current.raw = obj
        if current.status in (RefundStatus.PAID, *REFUND_FAILED):
            if status != current.status:
                logger.error(
                    "Swish says %s for refund %s, ended earlier as %s",
                    status,
                    current.refund_id,
                    current.status,
                )
            current.save(update_fields=["raw", "updated_at"])
            return
        if status not in SWISH_REFUND_STATUSES:
            logger.warning(
                "refund %s: unknown Swish status %r; kept open",
                current.refund_id,
                status,
            )
            if current.status == RefundStatus.CREATING:
                # Swish has it: never sent again, read again next pass.
                move(REFUND, current, "sent", ["raw"])
            else:
                current.save(update_fields=["raw", "updated_at"])
            return
        current.error_code = (obj.get("errorCode") or "")[:16]
        current.error_message = (obj.get("errorMessage") or "")[:255]
        fields = ["raw", "error_code", "error_message"]
        if current.status == status:
            current.save(update_fields=[*fields, "updated_at"])
        else:
            move(REFUND, current, REFUND_BY_SWISH[status], fields)
        if status == RefundStatus.ERROR:
            lifecycle.flag(
                order, f"Refund {current.refund_id} failed: {current.error_code}."
            )
            lifecycle.refund_failed(order)
            _audit_refund(order, current, "refund_failed")
        elif status == RefundStatus.PAID:
            logger.info("refund %s paid back", current.refund_id)
            _audit_refund(order, current, "refund_settled")
            if _refund_open(order):
                return
            if owed(order):
                # Another refund of the order was refused or failed: still
                # owed, and visible (the retry) until it is paid back too.
                lifecycle.refund_failed(order)
                return
            lifecycle.clear_flag(
                order, f"Refunded {current.amount} kr ({current.refund_id})."
            )
            lifecycle.refund_settled(order)


def _audit_refund(order: Order, refund: SwishRefund, action: str) -> None:
    """Log a refund's end in the audit log, in the transaction that records
    it (the request was logged by whoever asked for it)."""
    amount = refund.amount

    def summary() -> str:
        values = {
            "amount": number_format(amount, decimal_pos=2),
            "ref": order.reference,
            "id": refund.refund_id,
        }
        if action == "refund_settled":
            return (
                _("Swish paid back %(amount)s kr of order %(ref)s (refund %(id)s)")
                % values
            )
        return _("Refund %(id)s of %(amount)s kr (order %(ref)s) failed") % values

    audit.record(
        user=None,
        username="Swish",
        action=action,
        summary=summary,
        order=order,
        after={
            "refund": refund.refund_id,
            "amount": str(amount),
            "status": refund.status,
            "error_code": refund.error_code,
        },
    )


def _refund_open(order: Order) -> bool:
    """Whether a refund of the order is not yet PAID by Swish nor ended:
    queued, unsent, or at Swish (CREATED, VALIDATED, DEBITED)."""
    return SwishRefund.objects.filter(
        payment__order=order, status__in=REFUND_OPEN
    ).exists()
