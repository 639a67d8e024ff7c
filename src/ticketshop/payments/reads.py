"""Following an open payment request: the task worker reads it from Swish.

No request thread reads Swish (only starting a payment calls it): the
buyer's status poll and the return page read the database, and a callback
only asks for a read. Reads run in the task workers' read loops
(``run_reads``, SWISH_READ_THREADS per ``run_worker``), straight from the
payments' table, with no task queue between:

- a callback (``note_callback``) records that it came and makes a read due
  now (``read_queued``: asked for by a callback, so that a request the shop
  already ended is read too);
- while the request is open, a read is due on a schedule (``next_read_at``):
  first after a quiet period with no callback, a random time between
  SWISH_READ_AFTER_SECONDS and twice that after its creation (or the last
  callback), then backing off: 15, 30, 60, 120 s … capped at
  SWISH_READ_MAX_INTERVAL_SECONDS, until Swish reports it final or it is
  older than SWISH_PENDING_TIMEOUT_SECONDS (reconciliation then cancels it);
- a loop claims the read due longest, a callback's first (``claim_next``:
  the row locked with SKIP LOCKED on PostgreSQL, then one conditional
  UPDATE that takes a lease, ``reading_until``, so that two workers never
  read it at once, and pushes the next scheduled read back first: a worker
  that dies mid-read leaves it due again), reads and applies what Swish
  says (``settle.refresh_payment``) and ends the lease.

Each claim is one conditional UPDATE, so several workers on several hosts
share the work without reading a payment twice in one slot. Reconciliation
stays the backstop for anything lost.

A read that finds Swish unreachable marks it in the shared cache ("Swish
unreachable since"), and the next read that reaches Swish clears it; while
marked, the callback answers 503 so that Swish sends it again.
"""

import functools
import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ticketshop.db import sql
from ticketshop.statemachine.machine import acting_as

from .models import OPEN_STATUSES, SwishPayment, SwishStatus

logger = logging.getLogger(__name__)

QUEUE = "swish-reads"
# How long a read loop waits when no read is due.
READS_IDLE_SECONDS = 0.2
_UNREACHABLE_KEY = "payments:swish-unreachable-since"
# What a read reads: an open request, or one the shop recorded as
# ended unpaid whose callback came (only a callback asks for those): a PAID
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


# The shortest wait between two scheduled reads of one request, whatever the
# settings say: the read loops never read one request over and over.
MIN_BACKOFF_SECONDS = 1.0


def backoff(reads: int) -> timedelta:
    """The wait before the next scheduled read of a request read ``reads``
    times and still open: SWISH_READ_AFTER_SECONDS, doubling, capped (and
    never under MIN_BACKOFF_SECONDS)."""
    seconds = settings.SWISH_READ_AFTER_SECONDS * 2 ** max(0, reads - 1)
    capped = min(seconds, settings.SWISH_READ_MAX_INTERVAL_SECONDS)
    return timedelta(seconds=max(MIN_BACKOFF_SECONDS, capped))


def _lease() -> timedelta:
    """How long a read's claim lasts: past any call's timeouts."""
    return timedelta(
        seconds=settings.SWISH_CONNECT_TIMEOUT_SECONDS
        + settings.SWISH_HTTP_TIMEOUT_SECONDS
        + 5
    )


def _free(now: datetime) -> Q:
    """Nobody else reads it: no claim, or a lapsed one."""
    return Q(reading_until__isnull=True) | Q(reading_until__lt=now)


def note_callback(*, payment: SwishPayment, now: datetime | None = None) -> bool:
    """Swish called back about ``payment``: record it and make a read due
    now (``read_queued``: asked for by a callback, so that a request the
    shop already ended is read too). Returns whether this call asked for
    the read (not one asked for already). Never the payment's status
    (payments/machines)."""
    now = now or timezone.now()
    # Due now, or earlier if it was due already: a read that began just
    # before this callback and claims after it must still find it due.
    due = Least(
        Coalesce("next_read_at", Value(now, output_field=DateTimeField())),
        Value(now, output_field=DateTimeField()),
    )
    asked = SwishPayment.objects.filter(pk=payment.pk, read_queued=False).update(
        read_queued=True, callback_at=now, next_read_at=due
    )
    if not asked:
        SwishPayment.objects.filter(pk=payment.pk).update(
            callback_at=now, next_read_at=due
        )
    return bool(asked)


def _claimed(payment: SwishPayment, *, now: datetime, where: Q) -> bool:
    """Take the right to read ``payment`` (read at ``now``) in one
    conditional UPDATE, if ``where`` still holds (due, nobody else reading
    it). The next scheduled read is pushed back at once (a worker that dies
    mid-read leaves it due again then), the read is counted (``/metrics``:
    reads per paid order) and no longer asked for (a callback from now on
    asks again)."""
    return bool(
        SwishPayment.objects.filter(where, pk=payment.pk).update(
            reading_until=now + _lease(),
            next_read_at=now + backoff(payment.swish_reads + 1),
            # Asked now, whatever the answer (reconciliation skips it).
            checked_at=now,
            swish_reads=F("swish_reads") + 1,
            read_queued=False,
        )
    )


def _next_reads(now: datetime) -> list[datetime]:
    """The next scheduled read after this one, by how many times the row
    was read before (index): ``now + backoff(reads + 1)`` until the backoff
    is capped; the last item is the capped one (any count from there)."""
    times = []
    for before in range(64):
        times.append(now + backoff(before + 1))
        if backoff(before + 1) == backoff(before + 2):
            break
    return times


@functools.cache
def _claim_sql(alias: str, steps: int, skip_locked: bool) -> str:
    """The claim in one statement: an UPDATE of the row the subquery picks
    (due, nobody reading it; a callback's first, then due longest),
    returning it. ``steps``: the number of next-read times (_next_reads).
    Parameters: the lease's end, the next-read times, the time asked, the
    oldest open request still read, ``_READABLE``'s statuses, and now
    twice."""

    def col(field: str) -> str:
        return sql.column(SwishPayment, field, "", using=alias)

    reads = col("swish_reads")
    whens = " ".join(f"WHEN {reads} = {n} THEN %s" for n in range(steps - 1))
    next_read = f"CASE {whens} ELSE %s END" if whens else "%s"
    pick = (
        f"SELECT {col('pk')} FROM {sql.table(SwishPayment, using=alias)}"  # noqa: S608
        # CREATED as text, not a parameter: PostgreSQL then proves the
        # claim index's condition (models.SwishPayment) in a generic plan.
        f" WHERE (({col('status')} = '{SwishStatus.CREATED}'"
        f" AND {col('created_at')} > %s)"
        f" OR ({col('status')} IN ({sql.placeholders(len(_READABLE))})"
        f" AND {col('read_queued')}))"
        f" AND {col('next_read_at')} <= %s"
        f" AND ({col('reading_until')} IS NULL OR {col('reading_until')} < %s)"
        f" ORDER BY {col('read_queued')} DESC, {col('next_read_at')} ASC LIMIT 1"
        + (" FOR UPDATE SKIP LOCKED" if skip_locked else "")
    )
    # Only quoted names from the models go into the text; values are params.
    return (
        f"UPDATE {sql.table(SwishPayment, using=alias)} SET"  # noqa: S608
        f" {col('reading_until')} = %s, {col('next_read_at')} = {next_read},"
        f" {col('checked_at')} = %s, {reads} = {reads} + 1,"
        f" {col('read_queued')} = %s"
        f" WHERE {col('pk')} = ({pick})"
        f" RETURNING {sql.select_columns(alias, SwishPayment)}"
    )


def claim_next(*, now: datetime | None = None) -> SwishPayment | None:
    """Claim the payment whose read has been due longest, those a callback
    asked for first (None: nothing due). A callback says Swish has news and
    a buyer's page is waiting for it; a scheduled read is the backup and
    usually finds the request still open, so in a rush it waits until the
    callbacks' reads are done.

    The claim writes what ``_claimed`` writes, in one statement with no
    transaction of its own (``_claim_sql``). Several loops in several
    workers take turns: on PostgreSQL the subquery locks its row and skips
    one another loop is claiming (FOR UPDATE SKIP LOCKED); on SQLite writes
    are one at a time. What may be claimed: an open request whose
    scheduled read is due (and not past SWISH_PENDING_TIMEOUT_SECONDS:
    reconciliation ends those), or any readable one a callback asked about;
    either way nobody else reading it."""
    now = now or timezone.now()
    alias = connection.alias
    expired = now - timedelta(seconds=settings.SWISH_PENDING_TIMEOUT_SECONDS)
    next_reads = _next_reads(now)

    def at(value: datetime):
        return sql.value(alias, SwishPayment, "next_read_at", value)

    params = [
        at(now + _lease()),
        *(at(t) for t in next_reads),
        at(now),
        False,
        at(expired),
        *(str(status) for status in _READABLE),
        at(now),
        at(now),
    ]
    statement = _claim_sql(
        alias,
        len(next_reads),
        connection.features.has_select_for_update_skip_locked,
    )
    return sql.fetch_instance(alias, SwishPayment, statement, params)


def _read(payment: SwishPayment, *, now: datetime) -> None:
    """Read a claimed payment from Swish and apply the answer; the claim
    ends after the whole read, whatever happens: with the answer's record
    when one was applied (and no money is recovered after it), else with an
    UPDATE of its own once all is done."""
    from . import settle

    # The history names what made the read: Swish's callback, or the schedule.
    actor = "swish-callback" if payment.callback_at is not None else "swish-read"
    ended = False
    try:
        with acting_as(actor):
            ended = settle.read_claimed(payment=payment, now=now)
    finally:
        if not ended:
            SwishPayment.objects.filter(pk=payment.pk).update(reading_until=None)


def read_next(*, now: datetime | None = None) -> int | None:
    """Claim the longest-due read and do it; return its payment's pk (None:
    nothing was due)."""
    now = now or timezone.now()
    payment = claim_next(now=now)
    if payment is None:
        return None
    _read(payment, now=now)
    return payment.pk


# What a step of a read loop did (_step).
_NOTHING_DUE, _READ, _FAILED = "nothing due", "read", "failed"


def _step() -> str:
    """read_next, with a failure other than the database's logged: its claim
    pushed its next read back, so it is not due again at once."""
    try:
        return _READ if read_next() is not None else _NOTHING_DUE
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("a Swish read failed")
        return _FAILED


def read_due() -> int:
    """Do every read due now, one after the other (``run_worker --batch``,
    tests); return how many were done. Stops at the first failure."""
    done = 0
    while _step() == _READ:
        done += 1
    return done


def run_reads(*, stop, idle_seconds: float = READS_IDLE_SECONDS) -> None:
    """A read loop of run_worker (SWISH_READ_THREADS of them): do the
    longest-due read, or wait ``idle_seconds`` when none is due or a read
    failed, until ``stop`` (a threading.Event) is set. A database that fails
    ends the loop with its error (run_worker starts it again once the
    database answers)."""
    while not stop.is_set():
        close_old_connections()
        if _step() != _READ:
            stop.wait(idle_seconds)


def read_payment(*, payment_pk: int, now: datetime | None = None) -> str:
    """Read one payment from Swish now if it is due and nobody else reads
    it; return what happened ("read", "not due", "settled", "reading
    elsewhere"). What a read task queued before the read loops (or by hand)
    runs; the loops themselves claim with claim_next."""
    now = now or timezone.now()
    payment = SwishPayment.objects.filter(pk=payment_pk).first()
    if payment is None or payment.status not in _READABLE:
        return "settled"
    due = Q(status__in=_READABLE) & (
        Q(next_read_at__isnull=True) | Q(next_read_at__lte=now)
    )
    if not _claimed(payment, now=now, where=due & _free(now)):
        row = SwishPayment.objects.filter(pk=payment_pk).first()
        if row is None or row.status not in _READABLE:
            return "settled"
        if row.reading_until is not None and row.reading_until >= now:
            # Another worker reads it now; a callback that came after that
            # read's answer left it asked for, and a loop reads it again.
            return "reading elsewhere"
        return "not due"
    _read(payment, now=now)
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
