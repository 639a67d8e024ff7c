"""Following an open payment request: the task worker reads it from Swish.

No request thread reads Swish (only starting a payment calls it): the
buyer's status poll and the return page read the database, and a callback
only queues a read. Reads run in the task workers, on the queue
``swish-reads``:

- a callback (``note_callback``) records that it came, makes a read due now
  and queues one read task, unless one is queued already (one per payment);
- while the request is open, a read is due on a schedule (``next_read_at``):
  first after a quiet period with no callback, a random time between
  SWISH_READ_AFTER_SECONDS and twice that after its creation (or the last
  callback), then backing off: 15, 30, 60, 120 s … capped at
  SWISH_READ_MAX_INTERVAL_SECONDS, until Swish reports it final or it is
  older than SWISH_PENDING_TIMEOUT_SECONDS (reconciliation then cancels it).
  Every ``run_worker`` looks for due reads once a second
  (``queue_due_reads``) and queues them;
- a read task (``read_payment``) claims the payment for the read
  (``reading_until``, a lease) so that two workers never read it at once,
  pushes the next scheduled read back first (a worker that dies mid-read
  leaves it due again), reads and applies what Swish says
  (``settle.refresh_payment``).

Each step is one conditional UPDATE, so several workers on several hosts
share the work without reading a payment twice in one slot. Reconciliation
stays the backstop for anything lost.

A read that finds Swish unreachable marks it in the shared cache ("Swish
unreachable since"), and the next read that reaches Swish clears it; while
marked, the callback answers 503 so that Swish sends it again.
"""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ticketshop.statemachine.machine import acting_as

from .models import OPEN_STATUSES, SwishPayment, SwishStatus

logger = logging.getLogger(__name__)

QUEUE = "swish-reads"
# How often each run_worker looks for due reads (queue_due_reads).
SCAN_EVERY_SECONDS = 1.0
# At most this many reads queued by one scan (the rest the next second).
_PER_SCAN = 200
_UNREACHABLE_KEY = "payments:swish-unreachable-since"
# What a queued read reads: an open request, or one the shop recorded as
# ended unpaid whose callback came (only a callback queues those): a PAID
# after a release is read and never dropped.
_READABLE = (
    *OPEN_STATUSES,
    SwishStatus.DECLINED,
    SwishStatus.ERROR,
    SwishStatus.CANCELLED,
)


def first_read_at(now: datetime) -> datetime:
    """The first scheduled read after a quiet period: a random time between
    SWISH_READ_AFTER_SECONDS and twice that from ``now`` (so that a rush of
    buyers is not read all at once)."""
    after = settings.SWISH_READ_AFTER_SECONDS
    return now + timedelta(seconds=random.uniform(after, 2 * after))  # noqa: S311


def backoff(reads: int) -> timedelta:
    """The wait before the next scheduled read of a request read ``reads``
    times and still open: SWISH_READ_AFTER_SECONDS, doubling, capped."""
    seconds = settings.SWISH_READ_AFTER_SECONDS * 2 ** max(0, reads - 1)
    return timedelta(seconds=min(seconds, settings.SWISH_READ_MAX_INTERVAL_SECONDS))


def _lease() -> timedelta:
    """How long a read's claim lasts: past any call's timeouts."""
    return timedelta(
        seconds=settings.SWISH_CONNECT_TIMEOUT_SECONDS
        + settings.SWISH_HTTP_TIMEOUT_SECONDS
        + 5
    )


def _enqueue(payment_pk: int, *, run_after: datetime | None = None) -> None:
    from .tasks import read_payment_task

    task = read_payment_task
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(payment_pk)


def _queue_once(payment_pk: int, *, callback_at: datetime) -> bool:
    """Queue a read of the payment unless one is queued, and record the
    callback (a read due now) either way. In one transaction: the flag and
    the task commit together. Never the payment's status (payments/machines)."""
    # Due now, or earlier if it was due already: a read that began just
    # before this callback and claims after it must still find it due.
    due = Least(
        Coalesce("next_read_at", Value(callback_at, output_field=DateTimeField())),
        Value(callback_at, output_field=DateTimeField()),
    )
    with transaction.atomic():
        queued = SwishPayment.objects.filter(pk=payment_pk, read_queued=False).update(
            read_queued=True, callback_at=callback_at, next_read_at=due
        )
        if queued:
            _enqueue(payment_pk)
        else:
            SwishPayment.objects.filter(pk=payment_pk).update(
                callback_at=callback_at, next_read_at=due
            )
    return bool(queued)


def note_callback(*, payment: SwishPayment, now: datetime | None = None) -> bool:
    """Swish called back about ``payment``: record it, make a read due now
    and queue it (once). Returns whether a read was queued by this call."""
    now = now or timezone.now()
    return _queue_once(payment.pk, callback_at=now)


def queue_due_reads(*, now: datetime | None = None) -> int:
    """Queue a read of every open request whose scheduled read is due and
    that nobody reads or has queued; return how many were queued. Any number
    of workers may run it at once: each queue is a conditional UPDATE."""
    now = now or timezone.now()
    expired = now - timedelta(seconds=settings.SWISH_PENDING_TIMEOUT_SECONDS)
    # A read queued but not run long after it was due (its task lost with a
    # worker's database) is queued again.
    lost = now - timedelta(seconds=max(60.0, settings.SWISH_READ_MAX_INTERVAL_SECONDS))
    due_now = Q(read_queued=False, next_read_at__lte=now) | Q(
        read_queued=True, next_read_at__lte=lost
    )
    due = (
        SwishPayment.objects.filter(status=SwishStatus.CREATED, created_at__gt=expired)
        .filter(due_now)
        .filter(Q(reading_until__isnull=True) | Q(reading_until__lt=now))
        .order_by("next_read_at")
        .values_list("pk", flat=True)[:_PER_SCAN]
    )
    queued = 0
    for pk in list(due):
        with transaction.atomic():
            won = (
                SwishPayment.objects.filter(pk=pk)
                .filter(due_now)
                .update(read_queued=True, next_read_at=now)
            )
            if won:
                _enqueue(pk)
                queued += 1
    return queued


def _claim(payment_pk: int, *, now: datetime) -> SwishPayment | None:
    """Take the right to read the payment now: open, due, and nobody else
    reading it. The next scheduled read is pushed back at once, the read is
    counted (``/metrics``: reads per paid order) and the payment is no
    longer queued (a callback from now on queues another read), all in the
    one UPDATE that wins the claim."""
    payment = SwishPayment.objects.filter(pk=payment_pk).first()
    if payment is None or payment.status not in _READABLE:
        return None
    won = (
        SwishPayment.objects.filter(pk=payment_pk, status__in=_READABLE)
        .filter(Q(next_read_at__isnull=True) | Q(next_read_at__lte=now))
        .filter(Q(reading_until__isnull=True) | Q(reading_until__lt=now))
        .update(
            reading_until=now + _lease(),
            next_read_at=now + backoff(payment.swish_reads + 1),
            # Asked now, whatever the answer (reconciliation skips it).
            checked_at=now,
            swish_reads=F("swish_reads") + 1,
            read_queued=False,
        )
    )
    return payment if won else None


def read_payment(*, payment_pk: int, now: datetime | None = None) -> str:
    """The read task's work: read the payment from Swish if it is due and
    nobody else reads it; return what happened ("read", "not due",
    "settled", "reading elsewhere")."""
    from . import settle

    now = now or timezone.now()
    payment = _claim(payment_pk, now=now)
    if payment is None:
        # This task is no longer queued: a callback from now on queues
        # another (a won claim says so in its own UPDATE).
        SwishPayment.objects.filter(pk=payment_pk).update(read_queued=False)
        row = SwishPayment.objects.filter(pk=payment_pk).first()
        if row is None or row.status not in _READABLE:
            return "settled"
        if row.reading_until is not None and row.reading_until >= now:
            # Another worker reads it now; the callback that queued this one
            # may have come after that read's answer: read again after it.
            if row.callback_at is not None and row.callback_at >= now - _lease():
                with transaction.atomic():
                    if SwishPayment.objects.filter(
                        pk=payment_pk, read_queued=False
                    ).update(read_queued=True, next_read_at=now):
                        _enqueue(payment_pk, run_after=row.reading_until)
            return "reading elsewhere"
        return "not due"
    # The history names what made the read: Swish's callback, or the schedule.
    actor = "swish-callback" if payment.callback_at is not None else "swish-read"
    try:
        with acting_as(actor):
            settle.refresh_payment(payment=payment, now=now, counted=True)
    finally:
        SwishPayment.objects.filter(pk=payment_pk).update(reading_until=None)
    return "read"


def count_read(payment_pk: int) -> None:
    """Count one read of the payment from Swish (``/metrics``: reads per
    paid order)."""
    SwishPayment.objects.filter(pk=payment_pk).update(swish_reads=F("swish_reads") + 1)


# --- "Swish unreachable since" ------------------------------------------------


# When this process last found "unreachable since" clear after an answer
# (time.monotonic()): answers within _CLEAR_CHECK_SECONDS of it do not ask
# the cache again (one read less per Swish read in a rush). A failure seen
# here forgets it, so the next answer clears the mark at once; a mark set by
# another process is cleared by this one's answers within that time.
_clear_seen_at: float | None = None
_CLEAR_CHECK_SECONDS = 1.0


def note_reachable(reached: bool, *, now: datetime | None = None) -> None:
    """Record the outcome of a call to Swish in the shared cache: the first
    failure sets "unreachable since", any answer clears it. Never raises."""
    global _clear_seen_at
    try:
        if reached:
            seen = _clear_seen_at
            if seen is not None and time.monotonic() - seen < _CLEAR_CHECK_SECONDS:
                return
            if cache.get(_UNREACHABLE_KEY) is not None:
                cache.delete(_UNREACHABLE_KEY)
            _clear_seen_at = time.monotonic()
        else:
            _clear_seen_at = None
            stamp = (now or timezone.now()).isoformat()
            cache.add(_UNREACHABLE_KEY, stamp, timeout=None)
    except Exception:
        logger.warning("could not record Swish's reachability", exc_info=True)


def unreachable_since() -> datetime | None:
    """When the workers' reads of Swish began to fail (None: they reach it)."""
    value = cache.get(_UNREACHABLE_KEY)
    return parse_datetime(value) if isinstance(value, str) else None


def watched(read):
    """``read`` (a call to Swish), recording whether Swish answered."""
    from .swish import SwishBusy, SwishRefused, SwishUnavailable

    def call(object_id: str):
        try:
            result = read(object_id)
        except SwishBusy:
            raise  # nothing was sent: says nothing of Swish
        except SwishUnavailable:
            note_reachable(False)
            raise
        except SwishRefused:
            # A refusal (4xx) is an answer: Swish is reachable.
            note_reachable(True)
            raise
        note_reachable(True)
        return result

    return call
