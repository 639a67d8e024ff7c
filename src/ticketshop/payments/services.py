"""Swish payment rules: start, settle, poll, cancel, reconcile, refund.

Every change of an order is a transition of its state machine
(``orders.lifecycle``), made in one durable transaction with the order row
locked (``lifecycle.lock_order``). No lock is held across a call to Swish:
the intent is recorded and committed, Swish is called, and the outcome is
recorded in a second transaction. The same Swish state arriving by callback,
by polling and by reconciliation changes the order once. "Swish says paid"
is ``lifecycle.pay`` and the ticket e-mail's scheduling, in one transaction.
"""

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ticketshop import audit
from ticketshop.db.locks import run_locked
from ticketshop.delivery.services import schedule_ticket_delivery
from ticketshop.events.errors import Busy, EventDoesNotExist
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import InvalidSession, OutOfTickets, RenewalLimitReached
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.seatlock import lock_event
from ticketshop.orders.selectors import effective_status
from ticketshop.orders.sessions import (
    get_session_order,
    keep_session_order,
    renew_session_order,
)

from . import swish
from .errors import (
    AlreadyPaidPayment,
    PaymentStartFailed,
    RefundNotPossible,
    SessionExpired,
)
from .models import (
    OPEN_STATUSES,
    REFUND_FAILED,
    REFUND_IN_FLIGHT,
    REFUND_OPEN,
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)
from .selectors import get_latest_payment, list_open_payments
from .swish import SwishBusy, SwishRefused, SwishUnavailable

logger = logging.getLogger(__name__)

FINAL_STATUSES = (
    SwishStatus.PAID,
    SwishStatus.DECLINED,
    SwishStatus.ERROR,
    SwishStatus.CANCELLED,
)
SWISH_STATUSES = {SwishStatus.CREATED, *FINAL_STATUSES}
# ERROR DS24: Swish timed out waiting for the bank; the money may have moved.
UNKNOWN_OUTCOME = "DS24"
# How long start_payment waits for a concurrent start's token after RP09.
_TOKEN_WAIT_SECONDS = 2.0


def new_swish_id() -> str:
    """Return a payment request or refund id: 32 upper-case hex."""
    return uuid.uuid4().hex.upper()


def _creation_window() -> timedelta:
    """A create older than this is no longer in flight (twice the timeout)."""
    return timedelta(seconds=2 * settings.SWISH_HTTP_TIMEOUT_SECONDS)


def parse_swish_time(value) -> datetime | None:
    """Parse Swish's times tolerantly: Z, +0000, +01:00 or none (UTC)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --- start_payment -------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    payment_id: int | None
    # Known already (a running request's token, or "" for a free order).
    token: str | None
    # The order as written here (its hold renewed, or confirmed free).
    order: Order | None = None


class _RenewalNeeded(Exception):
    """The hold lapsed after the unlocked read: retry with the event lock."""


def start_payment(
    *,
    session,
    email: str,
    now: datetime | None = None,
    count_renewal: Callable[[], None] | None = None,
) -> str:
    """Start (or resume) the Swish payment of the session's order; return its token.

    An order of 0 kr is confirmed at once without Swish (the token ``""``).
    A lapsed or declined hold is renewed first, within its bounds
    (``lifecycle.renew``); ``count_renewal`` is called before, and may raise
    (the reservation rate limit counts renewals as reservations). Raises
    InvalidSession, AlreadyPaidPayment, SessionExpired (the hold lapsed and
    its seats are gone, or it was renewed as often or as long as allowed),
    Busy or PaymentStartFailed (the order keeps its reservation and a retry
    works).
    """
    now = now or timezone.now()
    order = get_session_order(session)
    if order is None:
        raise InvalidSession()
    kwargs = {"session": session, "email": email, "count_renewal": count_renewal}
    if order.total_price == 0 and not order.payment_pending:
        return _start(order=order, now=now, **kwargs)
    # A slot among this process's Swish calls first, before anything is
    # written: when all are taken the answer is Busy and the order is as it
    # was (its create, and a replacement's cancel, run in this slot).
    try:
        with swish.swish_slot():
            return _start(order=order, now=now, **kwargs)
    except SwishBusy as exc:
        # Only the slot above can be busy: calls inside it never wait.
        logger.info("start_payment of order %s: %s", order.reference, exc)
        raise Busy(exc.retry_after) from exc


def _start(
    *,
    session,
    order: Order,
    email: str,
    now: datetime,
    count_renewal: Callable[[], None] | None,
) -> str:
    renew = lifecycle.needs_renewal(order, now=now)
    if renew and not order.payment_pending and count_renewal is not None:
        # Counted before the seat lock, as a reservation is.
        count_renewal()
    try:
        plan = run_locked(
            _prepare_start, order=order, email=email, renew=renew, now=now
        )
    except _RenewalNeeded:
        if count_renewal is not None:
            count_renewal()
        plan = run_locked(_prepare_start, order=order, email=email, renew=True, now=now)
    if plan.order is not None:
        # The renewed hold's end (or the free order's): the session's too.
        keep_session_order(session, plan.order)
    if plan.token == "":
        token = ""
    elif plan.token is not None:
        # Running already: the session stays as it is.
        return plan.token
    else:
        token = _send_create(payment_id=plan.payment_id, now=now, may_replace=True)
    # Only now: a 5xx answer (PaymentStartFailed) sets no cookie, so a
    # token renewed before Swish answered would lose the buyer the order.
    renew_session_order(session, _new_token(order_id=order.pk, seen=order.token))
    return token


def _new_token(*, order_id: int, seen: str) -> Order:
    with transaction.atomic(durable=True):
        order = lock_order(order_id)
        lifecycle.new_token(order, seen=seen)
    return order


def _prepare_start(*, order: Order, email: str, renew: bool, now: datetime) -> _Plan:
    if renew:
        # Lock order: the event, then the order, as a reservation does.
        lock_event(event_id=order.event_id)
    order = lock_order(order.pk)
    if order.status == OrderStatus.PAID:
        raise AlreadyPaidPayment()
    if order.status == OrderStatus.FAILED_ADMIN:
        raise InvalidSession()
    if order.payment_pending:
        latest = get_latest_payment(order_id=order.pk)
        if latest is not None and latest.status in OPEN_STATUSES:
            # Running already: the same token (or resend the same id), and
            # the first address stays, so a forged repeat cannot redirect the
            # tickets. Another address needs a new reservation.
            return _Plan(payment_id=latest.pk, token=latest.token)
        if latest is not None and latest.error_code == UNKNOWN_OUTCOME:
            raise PaymentStartFailed("the previous payment's outcome is unknown")
    elif lifecycle.needs_renewal(order, now=now):
        if not renew:
            raise _RenewalNeeded()
        try:
            lifecycle.renew(order, now=now)
        except (OutOfTickets, EventDoesNotExist, RenewalLimitReached) as exc:
            raise SessionExpired() from exc
        logger.info("renewed the hold of order %s", order.reference)
    if order.total_price == 0 and not order.payment_pending:
        # Nothing to pay: no Swish (it refuses amounts below 1 kr).
        lifecycle.confirm_free(order, email=email, now=now)
        schedule_ticket_delivery(order=order)
        return _Plan(payment_id=None, token="", order=order)

    payment = SwishPayment.objects.create(
        order=order,
        request_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        amount=order.total_price,
        message=swish.sanitise_message(order.event.swish_message or order.event.title),
    )
    if not order.payment_pending:
        lifecycle.start_payment(order, email=email, now=now)
    return _Plan(payment_id=payment.pk, token=None, order=order)


def _send_create(*, payment_id: int, now: datetime, may_replace: bool) -> str:
    """PUT the recorded payment request; record and return its token."""
    payment = SwishPayment.objects.select_related("order").get(pk=payment_id)
    try:
        created = swish.create_payment_request(
            request_id=payment.request_id,
            amount=payment.amount,
            message=payment.message,
            reference=payment.order.reference,
            callback_identifier=payment.callback_identifier,
        )
    except SwishUnavailable as exc:
        # Maybe created, maybe not: keep the id, so a retry resends it and
        # reconciliation can ask Swish.
        logger.warning(
            "Swish unavailable creating %s (order %s): %s",
            payment.request_id,
            payment.order.reference,
            exc,
        )
        raise PaymentStartFailed(str(exc)) from exc
    except SwishRefused as exc:
        if "RP09" in exc.codes:
            return _recover_existing(payment=payment, now=now, may_replace=may_replace)
        _record_rejected(payment_id=payment.pk, codes=exc.codes, now=now)
        logger.warning(
            "Swish refused %s (order %s): %s",
            payment.request_id,
            payment.order.reference,
            exc,
        )
        raise PaymentStartFailed(str(exc)) from exc
    if not created.token:
        _record_rejected(payment_id=payment.pk, codes=["NOTOKEN"], now=now)
        raise PaymentStartFailed("Swish sent no PaymentRequestToken")
    with transaction.atomic(durable=True):
        lock_order(payment.order_id)
        # A callback may already have settled it (autopay): never go back.
        SwishPayment.objects.filter(pk=payment.pk).update(token=created.token)
        SwishPayment.objects.filter(pk=payment.pk, status=SwishStatus.CREATING).update(
            status=SwishStatus.CREATED
        )
    logger.info(
        "created Swish payment request %s for order %s",
        payment.request_id,
        payment.order.reference,
    )
    return created.token


def _record_rejected(*, payment_id: int, codes: list[str], now: datetime) -> None:
    """Swish refused the PUT: nothing exists; the hold stays as it was."""
    with transaction.atomic(durable=True):
        payment = SwishPayment.objects.get(pk=payment_id)
        order = lock_order(payment.order_id)
        payment.refresh_from_db()
        if payment.status != SwishStatus.CREATING:
            return
        payment.status = SwishStatus.REJECTED
        payment.error_code = ",".join(codes)[:16]
        payment.settled_at = now
        payment.save()
        latest = get_latest_payment(order_id=order.pk)
        if (
            order.status == OrderStatus.RESERVED
            and order.payment_pending
            and latest.pk == payment.pk
        ):
            lifecycle.end_payment(order)


def _recover_existing(
    *, payment: SwishPayment, now: datetime, may_replace: bool
) -> str:
    """RP09: the request exists already. Return its token if known; else
    (its token was lost with a failed answer) replace it with a new one."""
    logger.info("payment request %s exists already (RP09)", payment.request_id)
    deadline = time.monotonic() + _TOKEN_WAIT_SECONDS
    while True:
        # A concurrent start of the same order may be just storing it.
        token = SwishPayment.objects.filter(pk=payment.pk).values_list(
            "token", flat=True
        )[0]
        if token or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if token:
        return token
    if not may_replace:
        _record_rejected(payment_id=payment.pk, codes=["RP09"], now=now)
        raise PaymentStartFailed("payment request id not available (RP09)")
    with transaction.atomic(durable=True):
        order = lock_order(payment.order_id)
        latest = get_latest_payment(order_id=order.pk)
        if latest.pk != payment.pk or order.status != OrderStatus.RESERVED:
            raise PaymentStartFailed("the order changed meanwhile")
        replacement = SwishPayment.objects.create(
            order=order,
            request_id=new_swish_id(),
            callback_identifier=new_swish_id(),
            amount=payment.amount,
            message=payment.message,
        )
    # The old one is no longer the latest: its end cannot fail the order.
    cancel_payment(payment=payment, now=now)
    if Order.objects.get(pk=payment.order_id).status == OrderStatus.PAID:
        # The lost request had been paid (RP07 on the cancel): done.
        _record_rejected(payment_id=replacement.pk, codes=["UNUSED"], now=now)
        raise AlreadyPaidPayment()
    return _send_create(payment_id=replacement.pk, now=now, may_replace=False)


# --- Settling from Swish's state ----------------------------------------------


def apply_payment_object(*, payment_id: int, obj: dict, now: datetime) -> None:
    """Apply a payment request object read from Swish (never a callback body)."""
    status = obj.get("status") if isinstance(obj, dict) else None
    with transaction.atomic(durable=True):
        order_id = SwishPayment.objects.values_list("order_id", flat=True).get(
            pk=payment_id
        )
        order = lock_order(order_id)
        # Re-read after locking: a concurrent callback may have settled it.
        payment = SwishPayment.objects.get(pk=payment_id)
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
        payment.status = status
        if status in FINAL_STATUSES:
            payment.settled_at = now
        payment.error_code = (obj.get("errorCode") or "")[:16]
        payment.error_message = (obj.get("errorMessage") or "")[:255]
        if status == SwishStatus.PAID:
            payment.payment_reference = (obj.get("paymentReference") or "")[:64]
            payment.date_paid = parse_swish_time(obj.get("datePaid")) or now
        payment.save()
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


def refresh_payment(*, payment: SwishPayment, now: datetime | None = None) -> None:
    """Read the payment request from Swish and apply what it says."""
    now = now or timezone.now()
    try:
        obj = swish.read_payment_request(payment.request_id)
    except SwishRefused as exc:
        if exc.status == 404:
            _handle_not_found(payment_id=payment.pk, now=now)
        else:
            logger.warning("reading %s from Swish: %s", payment.request_id, exc)
        return
    except SwishUnavailable as exc:
        logger.warning("reading %s from Swish: %s", payment.request_id, exc)
        return
    apply_payment_object(payment_id=payment.pk, obj=obj, now=now)


def _handle_not_found(*, payment_id: int, now: datetime) -> None:
    """Swish does not know the request (404)."""
    with transaction.atomic(durable=True):
        order_id = SwishPayment.objects.values_list("order_id", flat=True).get(
            pk=payment_id
        )
        order = lock_order(order_id)
        payment = SwishPayment.objects.get(pk=payment_id)
        payment.checked_at = now
        if payment.status == SwishStatus.CREATING:
            if now - payment.created_at < _creation_window():
                # Its PUT may still be on the way.
                payment.save(update_fields=["checked_at", "updated_at"])
                return
            payment.status = SwishStatus.REJECTED
            payment.error_code = "NOTFOUND"
            payment.settled_at = now
            payment.save()
            latest = get_latest_payment(order_id=order.pk)
            if (
                order.status == OrderStatus.RESERVED
                and order.payment_pending
                and latest.pk == payment.pk
            ):
                lifecycle.end_payment(order)
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


def handle_callback(
    *, body: bytes, callback_identifier: str | None, now: datetime | None = None
) -> None:
    """Act on a Swish callback without trusting its body: it only names the
    request, whose state is then read from Swish. Never raises."""
    now = now or timezone.now()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        logger.warning("Swish callback with a malformed body (%d bytes)", len(body))
        return
    request_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(request_id, str) or not request_id:
        logger.warning("Swish callback without an id")
        return
    payment = SwishPayment.objects.filter(request_id=request_id).first()
    if payment is None:
        refund = SwishRefund.objects.filter(refund_id=request_id).first()
        if refund is None:
            logger.warning("Swish callback for unknown request %s", request_id[:40])
            return
        if callback_identifier is not None and not constant_time_compare(
            callback_identifier, refund.callback_identifier
        ):
            logger.warning("refund callback %s: wrong callbackIdentifier", request_id)
            return
        refresh_refund(refund=refund, now=now)
        return
    if callback_identifier is not None and not constant_time_compare(
        callback_identifier, payment.callback_identifier
    ):
        logger.warning("Swish callback %s: wrong callbackIdentifier", request_id)
        return
    if payment.status in FINAL_STATUSES:
        # Settled already (a repeated callback): nothing can change.
        logger.info("Swish callback %s: already %s", request_id, payment.status)
        return
    refresh_payment(payment=payment, now=now)


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
    refresh_payment(payment=payment, now=now)
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
            and now - payment.created_at < _creation_window()
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


# --- Organiser actions -----------------------------------------------------------


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
    SwishPayment.objects.filter(order=order, status__in=OPEN_STATUSES).update(
        status=SwishStatus.CANCELLED if not paid else SwishStatus.PAID,
        settled_at=now,
    )
    if paid:
        schedule_ticket_delivery(order=order)
    return True


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


def _owed(order: Order) -> list[tuple[SwishPayment, Decimal]]:
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


def refund_send_grace() -> timedelta:
    """A refund still CREATING this long after it was recorded or last sent
    is stuck (its send task or its PUT was lost): reconciliation resends it
    with the same id, and check_consistency reports it."""
    return _creation_window()


def _new_refund(payment: SwishPayment, amount: Decimal, requested_by: str):
    """Record a refund (CREATING) and queue its sending, in the caller's
    transaction: either both are committed with the decision, or neither."""
    if not (payment.raw or {}).get("payerAlias"):
        raise RefundNotPossible()
    refund = SwishRefund.objects.create(
        payment=payment,
        refund_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        amount=amount,
        requested_by=requested_by[:150],
    )
    from .tasks import send_refund_task

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


def record_order_refund(
    order: Order, *, requested_by: str = "", now=None
) -> list[SwishRefund]:
    """``refund_order`` in the caller's transaction, with the order locked by
    the caller (an organiser's use case that also writes its audit entry)."""
    now = now or timezone.now()
    payments = money_to_return(order)
    cancel_order = not payments and order.status == OrderStatus.PAID
    if cancel_order:
        payments = _unrefunded(order)
    if not payments:
        raise RefundNotPossible()
    refunds = [_new_refund(p, left, requested_by) for p, left in payments]
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
) -> list[SwishRefund]:
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
        refunds.append(_new_refund(accepted[0][0], amount, requested_by))
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


def record_owed_refunds(order: Order, *, requested_by: str = "") -> list[SwishRefund]:
    """``refund_owed`` in the caller's transaction, with the order locked by
    the caller."""
    refunds = [
        _new_refund(payment, amount, requested_by) for payment, amount in _owed(order)
    ]
    if not refunds:
        raise RefundNotPossible()
    lifecycle.refund_pending(order)
    return refunds


# --- Sending refunds (the task worker; reconciliation resends) -------------------

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
            message=swish.sanitise_message(f"Återbetalning {payment.order.reference}"),
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
    # A callback may have recorded a later state already: never go back.
    SwishRefund.objects.filter(pk=refund.pk, status=RefundStatus.CREATING).update(
        status=RefundStatus.CREATED
    )
    logger.info("refund %s of %s sent to Swish", refund.refund_id, payment.request_id)
    return "created"


def _read_after_refusal(*, refund: SwishRefund, now: datetime) -> str:
    """Read a refund Swish refused to take again: "exists" (read and
    applied), "missing" (404) or "unknown" (Swish could not say)."""
    try:
        obj = swish.read_refund(refund.refund_id)
    except SwishRefused as exc:
        if exc.status == 404:
            return "missing"
        logger.warning("reading refund %s: %s", refund.refund_id, exc)
        return "unknown"
    except SwishUnavailable as exc:
        logger.warning("reading refund %s: %s", refund.refund_id, exc)
        return "unknown"
    apply_refund_object(refund_pk=refund.pk, obj=obj, now=now)
    return "exists"


def _record_refund_refused(*, refund: SwishRefund, exc: SwishRefused) -> None:
    """Swish refused the PUT (4xx): no refund exists; the amount is owed again."""
    with transaction.atomic(durable=True):
        order = lock_order(refund.payment.order_id)
        changed = SwishRefund.objects.filter(
            pk=refund.pk, status=RefundStatus.CREATING
        ).update(status=RefundStatus.REJECTED, error_code=",".join(exc.codes)[:16])
        if not changed:
            return
        lifecycle.flag(order, f"Refund {refund.refund_id}: refused by Swish: {exc}")
        lifecycle.refund_failed(order)
    logger.warning("refund %s refused by Swish: %s", refund.refund_id, exc)


def refresh_refund(*, refund: SwishRefund, now: datetime | None = None) -> None:
    """Read a refund from Swish and record its state."""
    now = now or timezone.now()
    try:
        obj = swish.read_refund(refund.refund_id)
    except SwishRefused as exc:
        if exc.status == 404:
            _refund_not_found(refund_pk=refund.pk, now=now)
        else:
            logger.warning("reading refund %s: %s", refund.refund_id, exc)
        return
    except SwishUnavailable as exc:
        logger.warning("reading refund %s: %s", refund.refund_id, exc)
        return
    apply_refund_object(refund_pk=refund.pk, obj=obj, now=now)


def _refund_not_found(*, refund_pk: int, now: datetime) -> None:
    """Swish does not know the refund (404)."""
    with transaction.atomic(durable=True):
        refund = SwishRefund.objects.select_related("payment").get(pk=refund_pk)
        order = lock_order(refund.payment.order_id)
        refund.refresh_from_db()
        if refund.status == RefundStatus.CREATING:
            # Never reached Swish (or not yet): it is sent again, same id.
            return
        if refund.status not in REFUND_IN_FLIGHT or (
            now - refund.created_at <= _creation_window()
        ):
            return
        refund.status = RefundStatus.REJECTED
        refund.error_code = "NOTFOUND"
        refund.save(update_fields=["status", "error_code", "updated_at"])
        lifecycle.flag(order, f"Refund {refund.refund_id}: Swish has no such refund.")
        lifecycle.refund_failed(order)


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
        order_id = (
            SwishRefund.objects.filter(pk=refund_pk)
            .values_list("payment__order_id", flat=True)
            .get()
        )
        order = lock_order(order_id)
        current = SwishRefund.objects.get(pk=refund_pk)
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
        if status not in _SWISH_REFUND_STATUSES:
            logger.warning(
                "refund %s: unknown Swish status %r; kept open",
                current.refund_id,
                status,
            )
            if current.status == RefundStatus.CREATING:
                # Swish has it: never sent again, read again next pass.
                current.status = RefundStatus.CREATED
            current.save(update_fields=["raw", "status", "updated_at"])
            return
        current.status = status
        current.error_code = (obj.get("errorCode") or "")[:16]
        current.error_message = (obj.get("errorMessage") or "")[:255]
        current.save()
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
            if _owed(order):
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


_SWISH_REFUND_STATUSES = {RefundStatus.PAID, RefundStatus.ERROR, *REFUND_IN_FLIGHT}


def _refund_open(order: Order) -> bool:
    """Whether a refund of the order is not yet PAID by Swish nor ended:
    queued, unsent, or at Swish (CREATED, VALIDATED, DEBITED)."""
    return SwishRefund.objects.filter(
        payment__order=order, status__in=REFUND_OPEN
    ).exists()
