"""Ticket delivery: the e-mail of a paid order, sent once, retried until it goes.

The task is enqueued in the transaction that marks the order PAID, so a paid
order without a delivery cannot exist. Sending runs in the task worker:

1. lock the delivery row, re-check ``sent_at`` and claim it (short transaction);
2. render and send with no transaction open (SMTP may take seconds);
3. lock again and record the outcome; on failure enqueue the retry with
   ``run_after`` in the same transaction, so the retry cannot be lost either.

Duplicate tasks (a callback arriving twice, a resend racing a retry) find the
row sent or claimed and stop, so each order gets exactly one e-mail.

The claim is a lease: ``claimed_until`` is DELIVERY_LEASE_SECONDS ahead and
the sending worker renews it while SMTP talks, so a slow send keeps it. A
worker killed mid-send stops renewing; once its lease lapses, the upkeep of
any live worker (``run_worker``, once a minute) enqueues the e-mail again.
The one gap left is a worker killed after the SMTP server accepted the
message and before the outcome is recorded (milliseconds): that e-mail is
sent again, as with any at-least-once mail queue.
"""

import logging
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import Order, OrderStatus

from .emails import build_ticket_email
from .errors import OrderNotPaid
from .machines import TICKET_DELIVERY
from .models import DeliveryStatus, TicketDelivery

logger = logging.getLogger(__name__)

# A sending worker's lease; renewed every third of it while the send runs,
# so it lapses this long after the worker died.
CLAIM_DURATION = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
# A due e-mail with no claim and no sign of a task for this long lost its
# task before a worker claimed it (e.g. killed between taking the task and
# claiming the row): enqueue it again. Longer than a queue backlog in a rush.
STALL_AFTER = timedelta(minutes=10)
_MAX_ERROR_LENGTH = 2000


def retry_delay(*, attempts: int) -> timedelta:
    """Return the wait after the ``attempts``-th failure: doubling, capped."""
    seconds = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.DELIVERY_RETRY_MAX_SECONDS))


def _enqueue(*, order_id: int, run_after: datetime | None = None) -> None:
    from .tasks import send_order_tickets

    task = send_order_tickets
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(order_id)


def _require_transaction(name: str) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name}() must run inside the order's transaction")


def _queued(delivery: TicketDelivery) -> TicketDelivery:
    """The history row of a delivery just created (in its transaction)."""
    TICKET_DELIVERY.check("queue", None)
    TICKET_DELIVERY.save(delivery, "queue", created=True)
    return delivery


def buyer_language(order: Order) -> str:
    """Return the language of the order's e-mails: the buyer's, else the default."""
    return order.language or settings.DELIVERY_LANGUAGE


def schedule_ticket_delivery(
    *,
    order: Order,
    language: str | None = None,
    now: datetime | None = None,
    receipt: bool = True,
) -> TicketDelivery:
    """Enqueue the ticket e-mail of an order being marked PAID.

    Call inside the transaction that marks it PAID, so that a paid order
    without a delivery task cannot exist. Calling it again is harmless: an
    order already sent is left alone, and a second task finds the e-mail
    sent or being sent.
    """
    _require_transaction("schedule_ticket_delivery")
    now = now or timezone.now()
    # The caller holds the order's lock (every caller: it is changing the
    # order), so no other transaction adds this order's delivery meanwhile:
    # a read, then an insert without get_or_create's savepoint (two round
    # trips fewer on PostgreSQL; the one-per-order constraint stays the guard).
    delivery = TicketDelivery.objects.filter(order=order).first()
    if delivery is None:
        delivery = TicketDelivery.objects.create(
            order=order,
            language=language or buyer_language(order),
            recipient=order.email,
            next_attempt_at=now,
            with_receipt=receipt,
        )
        _queued(delivery)
    else:
        delivery = TicketDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.sent_at is not None:
            logger.info("tickets of order %s already sent", order.reference)
            return delivery
        TICKET_DELIVERY.check(
            "queue_again", delivery, delivery.sent_at is None, ": sent"
        )
        if delivery.status in (DeliveryStatus.GAVE_UP, DeliveryStatus.NOT_PAID):
            # Paid again after giving up (e.g. settled by hand): start over.
            delivery.attempts = 0
        delivery.next_attempt_at = now
        TICKET_DELIVERY.save(delivery, "queue_again", ["attempts", "next_attempt_at"])
    _enqueue(order_id=order.pk)
    return delivery


def resend_tickets(*, order: Order, now: datetime | None = None) -> TicketDelivery:
    """Send a paid order's ticket e-mail again (the organiser's resend)."""
    with transaction.atomic(durable=True):
        order = lock_order(order.pk)
        delivery = schedule_resend(order=order, now=now)
    logger.info("resend of tickets of order %s enqueued", order.reference)
    return delivery


def schedule_resend(*, order: Order, now: datetime | None = None) -> TicketDelivery:
    """``resend_tickets`` in the caller's transaction, with the order locked
    by the caller (an organiser's use case that also writes its audit
    entry). Raises ``OrderNotPaid`` for an order that is not paid."""
    _require_transaction("schedule_resend")
    now = now or timezone.now()
    if order.status != OrderStatus.PAID:
        raise OrderNotPaid(order.reference)
    delivery, created = TicketDelivery.objects.get_or_create(
        order=order,
        defaults={"language": buyer_language(order)},
    )
    if created:
        _queued(delivery)
    delivery = TicketDelivery.objects.select_for_update().get(pk=delivery.pk)
    TICKET_DELIVERY.check("resend", delivery)
    delivery.sent_at = None
    delivery.attempts = 0
    delivery.last_error = ""
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.claim_token = ""
    TICKET_DELIVERY.save(
        delivery,
        "resend",
        [
            "sent_at",
            "attempts",
            "last_error",
            "next_attempt_at",
            "claimed_until",
            "claim_token",
        ],
    )
    _enqueue(order_id=order.pk)
    return delivery


def requeue_stalled_deliveries(*, now: datetime | None = None) -> int:
    """Enqueue again the deliveries whose task was lost; return how many.

    A worker killed mid-task leaves its task RUNNING for good (django-tasks
    does not take it back). Two kinds of paid, unsent deliveries get a new
    task: those whose sender's lease lapsed (claimed, not renewed: the
    worker died mid-send), and those overdue by STALL_AFTER without a claim.
    Should the old task still run, the claim and sent_at keep the e-mail
    single. Every ``run_worker`` calls this once a minute (shared).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        stalled = list(
            TicketDelivery.objects.select_for_update()
            .filter(
                sent_at__isnull=True,
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
                order__status=OrderStatus.PAID,
            )
            .filter(
                # the sender's lease lapsed: it died mid-send
                (Q(claimed_until__lte=now) & ~Q(claim_token=""))
                # never claimed (or lapsed) and long overdue: its task was lost
                | (
                    (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                    & Q(next_attempt_at__lt=now - STALL_AFTER)
                )
            )
        )
        for delivery in stalled:
            delivery.next_attempt_at = now
            delivery.claimed_until = None
            delivery.claim_token = ""
            delivery.save(
                update_fields=[
                    "next_attempt_at",
                    "claimed_until",
                    "claim_token",
                    "updated_at",
                ]
            )
            _enqueue(order_id=delivery.order_id)
    if stalled:
        logger.warning("re-enqueued %d stalled ticket e-mails", len(stalled))
    return len(stalled)


def _lock_delivery(*, order_id: int) -> TicketDelivery:
    delivery = (
        TicketDelivery.objects.select_for_update().filter(order_id=order_id).first()
    )
    if delivery is None:
        # Paid without schedule_ticket_delivery (e.g. by hand in a shell):
        # deliver all the same.
        order = Order.objects.get(pk=order_id)
        delivery = _queued(
            TicketDelivery.objects.create(
                order_id=order_id, language=buyer_language(order)
            )
        )
    return delivery


def _claim(
    *, order_id: int, token: str, now: datetime
) -> tuple[str, Order | None, TicketDelivery | None]:
    """Claim the delivery for this worker; return (outcome, order, delivery)."""
    with transaction.atomic(durable=True):
        delivery = _lock_delivery(order_id=order_id)
        # Re-check after locking: another task may have sent it meanwhile.
        if delivery.sent_at is not None:
            return "already_sent", None, None
        order = Order.objects.select_related("event").get(pk=order_id)
        if order.status != OrderStatus.PAID:
            TICKET_DELIVERY.check(
                "not_paid", delivery, delivery.sent_at is None, ": sent"
            )
            delivery.next_attempt_at = None
            TICKET_DELIVERY.save(delivery, "not_paid", ["next_attempt_at"])
            return "not_paid", None, None
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            # Another worker is sending right now. Look again once its claim
            # lapses, in case that worker dies before recording the outcome.
            _enqueue(order_id=order_id, run_after=delivery.claimed_until)
            return "claimed_elsewhere", None, None
        delivery.claim_token = token
        delivery.claimed_until = now + CLAIM_DURATION
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.recipient = order.email
        delivery.save()
        return "claimed", order, delivery


@contextmanager
def _lease_renewed(*, order_id: int, token: str):
    """Keep this worker's claim alive while the block runs (a thread renews
    ``claimed_until`` every third of the lease)."""
    stop = threading.Event()

    def renew():
        from django.db import connection as thread_connection

        try:
            while not stop.wait(CLAIM_DURATION.total_seconds() / 3):
                TicketDelivery.objects.filter(
                    order_id=order_id, claim_token=token, sent_at__isnull=True
                ).update(claimed_until=timezone.now() + CLAIM_DURATION)
        except Exception:
            logger.exception("could not renew the e-mail lease of order %s", order_id)
        finally:
            thread_connection.close()

    renewer = threading.Thread(target=renew, name="delivery-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()


def _record_success(*, order_id: int, token: str) -> TicketDelivery:
    with transaction.atomic(durable=True):
        delivery = _lock_delivery(order_id=order_id)
        TICKET_DELIVERY.check("send", delivery)
        delivery.sent_at = timezone.now()
        delivery.times_sent += 1
        delivery.next_attempt_at = None
        if delivery.claim_token == token:
            delivery.claimed_until = None
            delivery.claim_token = ""
        TICKET_DELIVERY.save(
            delivery,
            "send",
            [
                "sent_at",
                "times_sent",
                "next_attempt_at",
                "claimed_until",
                "claim_token",
            ],
        )
        return delivery


def _record_failure(
    *, order_id: int, token: str, error: BaseException, now: datetime
) -> TicketDelivery:
    with transaction.atomic(durable=True):
        delivery = _lock_delivery(order_id=order_id)
        delivery.last_error = f"{type(error).__name__}: {error}"[:_MAX_ERROR_LENGTH]
        if delivery.claim_token == token:
            delivery.claimed_until = None
            delivery.claim_token = ""
        outcome = (
            "give_up" if delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS else "fail"
        )
        TICKET_DELIVERY.check(outcome, delivery)
        if outcome == "give_up":
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + retry_delay(attempts=delivery.attempts)
            # In the same transaction as the record: the retry is never lost.
            _enqueue(order_id=order_id, run_after=delivery.next_attempt_at)
        TICKET_DELIVERY.save(
            delivery,
            outcome,
            ["last_error", "claimed_until", "claim_token", "next_attempt_at"],
        )
        return delivery


def send_tickets(*, order_id: int, now: datetime | None = None) -> str:
    """Send a paid order's ticket e-mail unless it is already sent.

    Returns the outcome: "sent", "already_sent", "not_paid" or
    "claimed_elsewhere". A failed send is recorded, its retry enqueued, and
    the error raised again so that the task's result shows it.
    """
    now = now or timezone.now()
    token = secrets.token_hex(16)
    outcome, order, delivery = _claim(order_id=order_id, token=token, now=now)
    if order is None or delivery is None:
        logger.info("ticket e-mail of order %s: %s", order_id, outcome)
        return outcome
    try:
        message = build_ticket_email(
            order=order, language=delivery.language, receipt=delivery.with_receipt
        )
        with _lease_renewed(order_id=order_id, token=token):
            message.send()
    except Exception as error:
        delivery = _record_failure(order_id=order_id, token=token, error=error, now=now)
        logger.warning(
            "ticket e-mail of order %s failed (attempt %d, %s): %s",
            order.reference,
            delivery.attempts,
            f"retry at {delivery.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
            if delivery.next_attempt_at
            else "giving up",
            delivery.last_error,
        )
        raise
    _record_success(order_id=order_id, token=token)
    if settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
        logger.info(
            "ticket e-mail of order %s written under %s",
            order.reference,
            settings.EMAIL_FILE_PATH,
        )
    else:
        logger.info("ticket e-mail of order %s sent", order.reference)
    return "sent"
