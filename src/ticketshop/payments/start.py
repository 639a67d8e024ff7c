"""Starting a Swish payment: record the intent, PUT it, record the token.

No lock is held across a call to Swish: the payment request is recorded
(CREATING) and committed with the order's ``start_payment`` transition,
Swish is called, and its answer recorded in a second transaction. A lost
answer is resent with the same id (RP09 means it exists); a request whose
token was lost is cancelled and replaced.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ticketshop.db.locks import run_locked
from ticketshop.delivery.services import schedule_ticket_delivery
from ticketshop.events.errors import Busy, EventDoesNotExist
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import InvalidSession, OutOfTickets, RenewalLimitReached
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.seatlock import lock_event
from ticketshop.release.errors import TurnPassed
from ticketshop.release.services import payment_gate, swish_number_for

from . import swish
from .common import UNKNOWN_OUTCOME, new_swish_id
from .errors import AlreadyPaidPayment, PaymentStartFailed, SessionExpired
from .machines import PAYMENT, create_payment, move
from .models import OPEN_STATUSES, SwishPayment, SwishStatus
from .reads import first_read_at
from .selectors import get_latest_payment
from .settle import cancel_payment, lock_payment, reject
from .swish import SwishBusy, SwishRefused, SwishUnavailable

logger = logging.getLogger(__name__)

# How long start_payment waits for a concurrent start's token after RP09.
_TOKEN_WAIT_SECONDS = 2.0


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
    order: Order | None,
    email: str,
    now: datetime | None = None,
    count_renewal: Callable[[], None] | None = None,
    keep: Callable[[Order], None] | None = None,
    renewed: Callable[[Order], None] | None = None,
) -> str:
    """Start (or resume) the Swish payment of the buyer's order; return its token.

    The caller (the view) finds the order in the buyer's session and keeps
    the session up to date: ``keep(order)`` when the order's hold was
    renewed or the free order confirmed (its end is the session's too), and
    ``renewed(order)`` once the request exists and the order is named by a
    new secret (``lifecycle.new_token``). This module never sees the session.

    An order of 0 kr is confirmed at once without Swish (the token ``""``).
    A lapsed or declined hold is renewed first, within its bounds
    (``lifecycle.renew``); ``count_renewal`` is called before, and may raise
    (the reservation rate limit counts renewals as reservations). Raises
    InvalidSession, AlreadyPaidPayment, SessionExpired (the hold lapsed and
    its seats are gone, or it was renewed as often or as long as allowed,
    or its queue entry's turn passed on), ConfirmationRequired (reserved
    through a queue entry whose address is not confirmed yet), Busy or
    PaymentStartFailed (the order keeps its reservation and a retry works).
    """
    now = now or timezone.now()
    if order is None:
        raise InvalidSession()
    # Reserved through a fair release's queue entry: its address must be
    # confirmed first (ConfirmationRequired); unconfirmed until its hold
    # lapsed, its turn passed on.
    try:
        payment_gate(order)
    except TurnPassed as exc:
        raise SessionExpired() from exc
    kwargs = {
        "email": email,
        "count_renewal": count_renewal,
        "keep": keep or _nothing,
        "renewed": renewed or _nothing,
    }
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


def _nothing(order: Order) -> None:
    pass


def _start(
    *,
    order: Order,
    email: str,
    now: datetime,
    count_renewal: Callable[[], None] | None,
    keep: Callable[[Order], None],
    renewed: Callable[[Order], None],
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
        keep(plan.order)
    if plan.token == "":
        token = ""
    elif plan.token is not None:
        # Running already: the session stays as it is.
        return plan.token
    else:
        token = _send_create(payment_id=plan.payment_id, now=now, may_replace=True)
    # Only now: a 5xx answer (PaymentStartFailed) sets no cookie, so a
    # token renewed before Swish answered would lose the buyer the order.
    renewed(_new_token(order_id=order.pk, seen=order.token))
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
            # Swish lost the bank's answer (DS24): the money may have been
            # drawn, so no second request; for the order it is still
            # running (the seats stay held until an organiser settles it).
            # The same token again: the buyer's page polls and reads
            # "check with your bank" (a page opened after the event page
            # started the payment asks again, and may come after the flag).
            return _Plan(payment_id=latest.pk, token=latest.token)
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

    payment = create_payment(
        order=order,
        request_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        amount=order.total_price,
        message=swish.sanitise_message(order.event.swish_message or order.event.title),
        # The worker's first read, unless a callback comes first (reads.py).
        next_read_at=first_read_at(now),
    )
    if not order.payment_pending:
        lifecycle.start_payment(order, email=email, now=now)
    return _Plan(payment_id=payment.pk, token=None, order=order)


def _send_create(*, payment_id: int, now: datetime, may_replace: bool) -> str:
    """PUT the recorded payment request; record and return its token."""
    payment = SwishPayment.objects.select_related("order").get(pk=payment_id)
    # A fair release that binds its entries to a Swish number: the request
    # goes to that number (Swish's e-commerce flow), so one number, one entry.
    payer_alias = swish_number_for(payment.order)
    try:
        created = swish.create_payment_request(
            request_id=payment.request_id,
            amount=payment.amount,
            message=payment.message,
            reference=payment.order.reference,
            callback_identifier=payment.callback_identifier,
            payer_alias=payer_alias or None,
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
    if not created.token and not payer_alias:
        _record_rejected(payment_id=payment.pk, codes=["NOTOKEN"], now=now)
        raise PaymentStartFailed("Swish sent no PaymentRequestToken")
    with transaction.atomic(durable=True):
        lock_order(payment.order_id)
        current = SwishPayment.objects.get(pk=payment.pk)
        current.token = created.token or ""
        if PAYMENT.allowed("created", current):
            move(PAYMENT, current, "created", ["token"])
        else:
            # A callback may already have settled it (autopay): never go back.
            current.save(update_fields=["token", "updated_at"])
    logger.info(
        "created Swish payment request %s for order %s",
        payment.request_id,
        payment.order.reference,
    )
    return created.token or ""


def _record_rejected(*, payment_id: int, codes: list[str], now: datetime) -> None:
    """Swish refused the PUT: nothing exists; the hold stays as it was."""
    with transaction.atomic(durable=True):
        order, payment = lock_payment(payment_id)
        if payment.status == SwishStatus.CREATING:
            reject(order, payment, "rejected", ",".join(codes), now)


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
        replacement = create_payment(
            order=order,
            request_id=new_swish_id(),
            callback_identifier=new_swish_id(),
            amount=payment.amount,
            message=payment.message,
            next_read_at=first_read_at(now),
        )
    # The old one is no longer the latest: its end cannot fail the order.
    cancel_payment(payment=payment, now=now)
    if Order.objects.get(pk=payment.order_id).status == OrderStatus.PAID:
        # The lost request had been paid (RP07 on the cancel): done.
        _record_rejected(payment_id=replacement.pk, codes=["UNUSED"], now=now)
        raise AlreadyPaidPayment()
    return _send_create(payment_id=replacement.pk, now=now, may_replace=False)
