"""What the simulated Swish does: validate, create, settle, cancel, refund.

Faithful to Swish's own test server (MSS, swish.md sections 4-12) with a few
documented extensions: a payer page instead of MSS's automatic payment, a
real timeout (TM01), plain-HTTP callbacks to loopback, and failure switches.
"""

import ipaddress
import logging
import re
import secrets
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from . import codes, faults
from .background import scheduler
from .models import (
    PaymentRequestStatus,
    RefundStatus,
    SimulatedPaymentRequest,
    SimulatedRefund,
)

logger = logging.getLogger(__name__)

ID_RE = re.compile(r"^[0-9A-F]{32}$")
AMOUNT_RE = re.compile(r"^\d+(\.\d{2})?$")
REFERENCE_RE = re.compile(r"^[0-9a-zA-ZåäöÅÄÖ-]{1,35}$")
PAYER_ALIAS_RE = re.compile(r"^\d{8,15}$")
# A Swish number of a merchant: 10 digits starting 123 (9991181189 gets PA01).
PAYEE_ALIAS_RE = re.compile(r"^123\d{7}$")
MESSAGE_RE = re.compile(r'^[0-9a-zA-ZåäöÅÄÖéÉüÜ :;.,?!()\-"”]*$')
MAX_AMOUNT = Decimal("999999999999.99")
# MSS gives every m-commerce payer this alias.
MCOMMERCE_PAYER_ALIAS = "46464646464"
CALLBACK_TIMEOUT_SECONDS = 10


class SwishRefusal(Exception):
    """A request Swish refuses: HTTP status plus a list of error objects."""

    def __init__(self, status: int, errors: list[dict] | None = None) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors


def _loopback(host: str | None) -> bool:
    if host in ("localhost", "testserver"):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def shop_callback_url() -> str:
    """The shop's own callback URL, the only one the simulator calls."""
    return settings.SWISH_CALLBACK_URL or f"{settings.PUBLIC_BASE_URL}/swish/callback/"


def _normalised(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")


def callback_url_ok(url) -> bool:
    """The shop's own callback URL, over HTTPS (plain HTTP only to loopback).

    Anyone can create a simulated request in the demo, so any other URL
    would make this server POST wherever a stranger asks (a relay).
    """
    if not isinstance(url, str) or not url or len(url) > 2000:
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. "http://[::1"
        return False
    if not (parts.scheme == "https" and hostname) and not (
        parts.scheme == "http" and _loopback(hostname)
    ):
        return False
    return _normalised(url) == _normalised(shop_callback_url())


def parse_amount(value) -> Decimal | None:
    """Return the amount if it is digits with no or two decimals, else None.

    An amount too large for Swish comes back as is, for AM02; NaN and
    infinities are None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return Decimal(value) if AMOUNT_RE.match(value) else None
    if not isinstance(value, int | float):
        return None
    try:
        value = Decimal(str(value))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value.adjusted() >= 15:
        return value  # more digits than quantize can keep: AM02
    # A JSON number: at most two decimals (getswish sends floats).
    return value if value == value.quantize(Decimal("0.01")) else None


def _str(body: dict, key: str):
    value = body.get(key)
    return value if value is None or isinstance(value, str) else False


def _check_common(body: dict) -> tuple[list[dict], Decimal | None]:
    errors = []
    callback_url = body.get("callbackUrl")
    if not callback_url_ok(callback_url):
        errors.append(codes.error("RP03"))
    amount = parse_amount(body.get("amount"))
    if amount is None:
        errors.append(codes.error("PA02"))
    elif amount < settings.SWISH_MIN_AMOUNT:
        errors.append(codes.error("AM06"))
    elif amount > MAX_AMOUNT:
        errors.append(codes.error("AM02"))
    if body.get("currency") != "SEK":
        errors.append(codes.error("AM03"))
    message = _str(body, "message")
    if message is False or (
        message is not None and (len(message) > 50 or not MESSAGE_RE.match(message))
    ):
        errors.append(codes.error("RP02"))
    return errors, amount


def _trigger(message, sync: set[str]) -> str | None:
    return message if isinstance(message, str) and message in sync else None


def _plan(message: str, *, ecommerce: bool, now) -> tuple:
    """Return (due_at, outcome) of a new payment request."""
    if message in codes.PAYMENT_ASYNC or (
        not ecommerce and message in codes.PAYMENT_ASYNC_MCOMMERCE
    ):
        delay = settings.SWISH_SIMULATOR_ERROR_DELAY_SECONDS
        return now + timedelta(seconds=delay), message
    autopay = settings.SWISH_SIMULATOR_AUTOPAY_SECONDS
    if autopay is not None:
        return now + timedelta(seconds=autopay), PaymentRequestStatus.PAID
    timeout = settings.SWISH_SIMULATOR_TIMEOUT_SECONDS
    return now + timedelta(seconds=timeout), "TM01"


def create_payment_request(*, request_id: str, body: dict) -> SimulatedPaymentRequest:
    """Validate and store a payment request (v2 PUT), or raise SwishRefusal."""
    if not isinstance(body, dict):
        raise SwishRefusal(400)
    message = body.get("message")
    payer_alias = _str(body, "payerAlias")
    ecommerce = bool(payer_alias)
    # MSS: a message equal to an error code fails with that code.
    if _trigger(message, codes.SYNC_403):
        raise SwishRefusal(403, [codes.error("PA01")])
    code = _trigger(message, codes.PAYMENT_SYNC_422) or (
        ecommerce and _trigger(message, codes.PAYMENT_SYNC_422_ECOMMERCE)
    )
    if code:
        raise SwishRefusal(422, [codes.error(code)])

    errors, amount = _check_common(body)
    reference = _str(body, "payeePaymentReference")
    if reference is False or (
        reference is not None and not REFERENCE_RE.match(reference)
    ):
        errors.insert(0, codes.error("FF08"))
    if payer_alias is False or (payer_alias and not PAYER_ALIAS_RE.match(payer_alias)):
        errors.append(codes.error("BE18"))
    payee_alias = _str(body, "payeeAlias")
    if not payee_alias:
        errors.append(codes.error("RP01"))
    elif not PAYEE_ALIAS_RE.match(payee_alias):
        raise SwishRefusal(403, [codes.error("PA01")])
    callback_identifier = _str(body, "callbackIdentifier")
    if callback_identifier is False:
        errors.append(codes.error("PA01"))
    if errors:
        raise SwishRefusal(422, errors)

    now = timezone.now()
    due_at, outcome = _plan(message or "", ecommerce=ecommerce, now=now)
    try:
        with transaction.atomic():
            if SimulatedPaymentRequest.objects.filter(pk=request_id).exists():
                raise SwishRefusal(422, [codes.error("RP09")])
            if (
                ecommerce
                and SimulatedPaymentRequest.objects.filter(
                    payer_alias=payer_alias, status=PaymentRequestStatus.CREATED
                ).exists()
            ):
                raise SwishRefusal(422, [codes.error("RP06")])
            payment = SimulatedPaymentRequest.objects.create(
                id=request_id,
                # MSS tokens are 32 lower-case hex; e-commerce gets none.
                token=None if ecommerce else uuid.uuid4().hex,
                payee_payment_reference=reference or "",
                callback_url=body["callbackUrl"],
                callback_identifier=callback_identifier or "",
                payer_alias=payer_alias or "",
                payee_alias=payee_alias,
                amount=amount,
                currency="SEK",
                message=message or "",
                date_created=now,
                due_at=due_at,
                due_outcome=outcome,
            )
    except IntegrityError:
        # The same id PUT twice at once: both exists() checks passed and the
        # primary key refused the second, which Swish answers with RP09.
        raise SwishRefusal(422, [codes.error("RP09")]) from None
    transaction.on_commit(
        lambda: scheduler.call_later(
            (due_at - now).total_seconds(), settle_when_due, request_id
        )
    )
    return payment


def settle_payment(*, request_id: str, outcome: str) -> bool:
    """Move a CREATED request to ``outcome`` (PAID, DECLINED or an error code).

    One conditional UPDATE: of a payer's click, a cancel and a timeout racing
    for the same request exactly one wins. The winner's callback is sent from
    the background, never inside the caller's request.
    """
    now = timezone.now()
    changes: dict = {"due_at": None, "due_outcome": ""}
    if outcome == PaymentRequestStatus.PAID:
        changes.update(
            status=PaymentRequestStatus.PAID,
            date_paid=now,
            payment_reference=secrets.token_hex(16).upper(),
        )
    elif outcome in (PaymentRequestStatus.DECLINED, PaymentRequestStatus.CANCELLED):
        changes.update(status=outcome)
    else:
        changes.update(
            status=PaymentRequestStatus.ERROR,
            error_code=outcome,
            error_message=codes.MESSAGES.get(outcome, outcome),
        )
    won = SimulatedPaymentRequest.objects.filter(
        pk=request_id, status=PaymentRequestStatus.CREATED
    ).update(**changes)
    if won:
        if outcome == PaymentRequestStatus.PAID:
            # MSS gives m-commerce payers a fixed alias.
            SimulatedPaymentRequest.objects.filter(
                pk=request_id, payer_alias=""
            ).update(payer_alias=MCOMMERCE_PAYER_ALIAS)
        logger.info("simulated payment %s -> %s", request_id, outcome)
        schedule_callbacks(kind="payment", object_id=request_id)
    return bool(won)


def settle_when_due(request_id: str) -> None:
    """Reach the planned outcome if its time has come (run by the scheduler)."""
    advance_payment(request_id=request_id)


def advance_payment(*, request_id: str) -> SimulatedPaymentRequest | None:
    """Return the request, first settling it if its planned outcome is due."""
    payment = SimulatedPaymentRequest.objects.filter(pk=request_id).first()
    if (
        payment is not None
        and payment.status == PaymentRequestStatus.CREATED
        and payment.due_at is not None
        and payment.due_at <= timezone.now()
    ):
        settle_payment(request_id=request_id, outcome=payment.due_outcome)
        payment.refresh_from_db()
    return payment


def pay(*, token: str, approve: bool) -> SimulatedPaymentRequest | None:
    """The payer approves or declines in the app."""
    payment = SimulatedPaymentRequest.objects.filter(token=token).first()
    if payment is None:
        return None
    advance_payment(request_id=payment.pk)
    settle_payment(
        request_id=payment.pk,
        outcome=PaymentRequestStatus.PAID if approve else PaymentRequestStatus.DECLINED,
    )
    payment.refresh_from_db()
    return payment


CANCEL_PATCH = [{"op": "replace", "path": "/status", "value": "cancelled"}]


def cancel_payment_request(*, request_id: str, body) -> SimulatedPaymentRequest:
    """Cancel a CREATED request (v1 PATCH), or raise SwishRefusal."""
    payment = advance_payment(request_id=request_id)
    if payment is None:
        raise SwishRefusal(404)
    if body != CANCEL_PATCH:
        raise SwishRefusal(422, [codes.error("PA01")])
    if not settle_payment(
        request_id=request_id, outcome=PaymentRequestStatus.CANCELLED
    ):
        raise SwishRefusal(422, [codes.error("RP07")])
    payment.refresh_from_db()
    return payment


def schedule_callbacks(*, kind: str, object_id: str) -> None:
    """Queue the callback(s) of a settled object, as the switches say."""
    if settings.SWISH_SIMULATOR_DROP_CALLBACKS:
        logger.info("simulator drops the callback of %s %s", kind, object_id)
        return
    times = 2 if settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS else 1
    for _ in range(times):
        transaction.on_commit(
            lambda: scheduler.call_later(
                0, send_callback, kind, object_id, callback=True
            )
        )


# A callback's thread waits for the merchant's answer with no database
# connection open; at most this many of them use the database at once (the
# callbacks' pool is large: background.py).
_CALLBACK_DB = threading.BoundedSemaphore(8)


@contextmanager
def _on_the_database():
    """A callback thread's database work: one of _CALLBACK_DB's places, and
    the connection closed before the thread goes back to the network."""
    with _CALLBACK_DB:
        try:
            yield
        finally:
            connection.close()


def send_callback(kind: str, object_id: str, delayed: bool = False) -> None:
    """POST the object to its callbackUrl, as Swish does when it settles.

    A ``callback`` fault (faults.py) first delays it (queued again, no
    thread held), then loses it at the fault's error and drop rates.
    """
    with _on_the_database():
        prepared = _prepare_callback(kind, object_id, delayed)
    if prepared is None:
        return
    url, body, headers = prepared
    try:
        response = requests.post(
            url, json=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS
        )
        logger.info(
            "simulator callback %s %s -> HTTP %s", kind, object_id, response.status_code
        )
    except requests.RequestException as exc:
        logger.warning("simulator callback %s %s failed: %s", kind, object_id, exc)
        return
    if kind == "payment":
        with _on_the_database():
            SimulatedPaymentRequest.objects.filter(pk=object_id).update(
                callbacks_sent=F("callbacks_sent") + 1
            )


def _prepare_callback(
    kind: str, object_id: str, delayed: bool
) -> tuple[str, dict, dict] | None:
    """The callback's URL, body and headers, or None (delayed, lost or
    unknown)."""
    if not delayed:
        fault = faults.on_call("callback")
        if fault.delay_seconds:
            scheduler.call_later(
                fault.delay_seconds, send_callback, kind, object_id, True, callback=True
            )
            return None
    else:
        fault = faults.current("callback")
    if fault.outcome() != "answer":
        logger.info("simulator fault: callback of %s %s lost", kind, object_id)
        return None
    model = SimulatedPaymentRequest if kind == "payment" else SimulatedRefund
    obj = model.objects.filter(pk=object_id).first()
    if obj is None:
        return None
    headers = {"Content-Type": "application/json"}
    if obj.callback_identifier:
        headers["callbackIdentifier"] = obj.callback_identifier
    return obj.callback_url, obj.to_swish(), headers


# --- Refunds -----------------------------------------------------------------


def _refund_step_delay() -> float:
    return settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS


def create_refund(
    *, refund_id: str, body: dict, fail_with: str = ""
) -> SimulatedRefund:
    """Validate and store a refund (v2 PUT), or raise SwishRefusal.

    Unlike MSS, the original payment and the amount left to refund are
    checked against the simulated payments (RF02, RF08), as in production.
    An id used before is RF09 whatever the body (a resend of the same
    refund must not read as RF08 because of itself). ``fail_with`` (the
    SWISH_SIMULATOR_FAIL_REFUND switch) makes it end in ERROR with that code.
    """
    if not isinstance(body, dict):
        raise SwishRefusal(400)
    if SimulatedRefund.objects.filter(pk=refund_id).exists():
        raise SwishRefusal(422, [codes.error("RF09")])
    message = body.get("message")
    if _trigger(message, codes.SYNC_403):
        raise SwishRefusal(403, [codes.error("PA01")])
    code = _trigger(message, codes.REFUND_SYNC_422)
    if code:
        raise SwishRefusal(422, [codes.error(code)])
    errors, amount = _check_common(body)
    reference = _str(body, "payerPaymentReference")
    if reference is False or (
        reference is not None and not REFERENCE_RE.match(reference)
    ):
        errors.insert(0, codes.error("FF08"))
    payer_alias = _str(body, "payerAlias")
    if not payer_alias:
        errors.append(codes.error("RP01"))
    payee_alias = _str(body, "payeeAlias")
    if payee_alias is False or (payee_alias and not PAYER_ALIAS_RE.match(payee_alias)):
        errors.append(codes.error("BE18"))
    original_reference = _str(body, "originalPaymentReference")
    original = (
        SimulatedPaymentRequest.objects.filter(
            payment_reference=original_reference, status=PaymentRequestStatus.PAID
        ).first()
        if original_reference
        else None
    )
    if original is None:
        errors.append(codes.error("RF02"))
    elif payer_alias and payer_alias != original.payee_alias:
        errors.append(codes.error("RF03"))
    elif amount is not None:
        refunded = sum(
            (
                r.amount
                for r in SimulatedRefund.objects.filter(
                    original_payment_reference=original_reference
                ).exclude(status=RefundStatus.ERROR)
            ),
            Decimal("0"),
        )
        left = original.amount - refunded
        if amount > left:
            errors.append(codes.error("RF08", f"{left:.2f}"))
    if errors:
        raise SwishRefusal(422, errors)

    now = timezone.now()
    if message in codes.REFUND_ASYNC:
        due_outcome = message
    elif fail_with:
        due_outcome = fail_with
    else:
        due_outcome = RefundStatus.VALIDATED
    try:
        with transaction.atomic():
            if SimulatedRefund.objects.filter(pk=refund_id).exists():
                raise SwishRefusal(422, [codes.error("RF09")])
            refund = SimulatedRefund.objects.create(
                id=refund_id,
                payer_payment_reference=reference or "",
                original_payment_reference=original_reference,
                callback_url=body["callbackUrl"],
                callback_identifier=_str(body, "callbackIdentifier") or "",
                payer_alias=payer_alias,
                payee_alias=payee_alias or "",
                amount=amount,
                message=message or "",
                date_created=now,
                due_at=now + timedelta(seconds=_refund_step_delay()),
                due_outcome=due_outcome,
            )
    except IntegrityError:
        # The same refund id PUT twice at once (see create_payment_request).
        raise SwishRefusal(422, [codes.error("RF09")]) from None
    transaction.on_commit(
        lambda: scheduler.call_later(
            _refund_step_delay(), refund_step_when_due, refund_id
        )
    )
    return refund


def refund_step_when_due(refund_id: str) -> None:
    advance_refund(refund_id=refund_id)


def advance_refund(*, refund_id: str) -> SimulatedRefund | None:
    """Return the refund, first taking the steps that are due."""
    for _ in range(3):
        refund = SimulatedRefund.objects.filter(pk=refund_id).first()
        if refund is None or refund.due_at is None or refund.due_at > timezone.now():
            return refund
        _refund_step(refund)
    return SimulatedRefund.objects.filter(pk=refund_id).first()


def _refund_step(refund: SimulatedRefund) -> None:
    now = timezone.now()
    outcome = refund.due_outcome
    if outcome == RefundStatus.VALIDATED:
        changes = {
            "status": RefundStatus.VALIDATED,
            "due_at": now + timedelta(seconds=_refund_step_delay()),
            "due_outcome": RefundStatus.DEBITED,
        }
    elif outcome == RefundStatus.DEBITED:
        changes = {
            "status": RefundStatus.DEBITED,
            "due_at": now + timedelta(seconds=_refund_step_delay()),
            "due_outcome": RefundStatus.PAID,
        }
    elif outcome == RefundStatus.PAID:
        changes = {
            "status": RefundStatus.PAID,
            "date_paid": now,
            "payment_reference": secrets.token_hex(16).upper(),
            "due_at": None,
            "due_outcome": "",
        }
    else:
        changes = {
            "status": RefundStatus.ERROR,
            "error_code": outcome,
            "error_message": codes.MESSAGES.get(outcome, outcome),
            "due_at": None,
            "due_outcome": "",
        }
    won = SimulatedRefund.objects.filter(
        pk=refund.pk, status=refund.status, due_outcome=outcome
    ).update(**changes)
    if won:
        logger.info("simulated refund %s -> %s", refund.pk, changes["status"])
        schedule_callbacks(kind="refund", object_id=refund.pk)
        if changes["due_at"] is not None:
            scheduler.call_later(_refund_step_delay(), refund_step_when_due, refund.pk)
