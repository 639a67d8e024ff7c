"""Run a periodic job once per period across all workers of a shop, and
space out a shared slot (Swish refunds) across processes.

Below both payments and ops, which use it; it knows no other part of the
shop.

Every worker asks; one conditional UPDATE decides who runs it. On PostgreSQL
a concurrent UPDATE of the same row waits for the first one and re-checks
its condition, on SQLite writers are serialised, so exactly one caller per
period sees a changed row.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Lease

logger = logging.getLogger(__name__)
T = TypeVar("T")

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _ensure(name: str) -> None:
    if Lease.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, last_run_at=_EPOCH)
    except IntegrityError:
        pass  # another process created it first


def take_turn(
    name: str, *, every: timedelta, holder: str, now: datetime | None = None
) -> bool:
    """Claim this period's run of ``name``; True for exactly one caller."""
    now = now or timezone.now()
    _ensure(name)
    # A small slack so that a worker polling every `every` seconds does not
    # miss its turn by a few milliseconds of drift.
    won = Lease.objects.filter(
        name=name, last_run_at__lte=now - every + timedelta(seconds=1)
    ).update(last_run_at=now, holder=holder[:128])
    return won == 1


def run_once_per(
    name: str, *, every: timedelta, holder: str, job: Callable[[], T]
) -> tuple[bool, T | None]:
    """Run ``job`` if this caller wins the period's lease; (ran, result)."""
    if not take_turn(name, every=every, holder=holder):
        return False, None
    return True, job()


def wait_for_slot(
    name: str,
    *,
    spacing: timedelta,
    holder: str,
    hold: timedelta = timedelta(0),
    timeout: float = 60.0,
) -> datetime:
    """Wait until ``spacing`` has passed since the last slot of ``name`` was
    taken (or released) by any process, take it and return its time.

    The same conditional UPDATE as ``take_turn`` (no slack here): two
    callers, in one process or on two hosts, never get slots closer than
    ``spacing`` (as far as their clocks agree). ``hold`` keeps the slot
    taken that much longer, until ``release_slot`` gives it back: then the
    next slot is ``spacing`` after the release, however long the work took
    (a holder that dies frees it after ``hold``). Run it outside a
    transaction, so that the slot is committed at once. Raises TimeoutError
    after ``timeout`` seconds without a slot.
    """
    _ensure(name)
    deadline = time.monotonic() + timeout
    while True:
        now = timezone.now()
        won = Lease.objects.filter(name=name, last_run_at__lte=now - spacing).update(
            last_run_at=now + hold, holder=holder[:128]
        )
        if won:
            return now
        last = Lease.objects.filter(name=name).values_list("last_run_at", flat=True)[0]
        wait = (last + spacing - timezone.now()).total_seconds()
        if time.monotonic() + max(wait, 0) > deadline:
            raise TimeoutError(f"no {name} slot within {timeout:.0f} s")
        time.sleep(min(max(wait, 0.005), max(spacing.total_seconds(), 0.005)))


def release_slot(name: str, *, taken_at: datetime, hold: timedelta) -> None:
    """Give back a slot taken with ``hold``: the next one is ``spacing``
    from now. Nothing if it was not held any more (it lapsed and was taken)."""
    Lease.objects.filter(name=name, last_run_at=taken_at + hold).update(
        last_run_at=timezone.now()
    )
