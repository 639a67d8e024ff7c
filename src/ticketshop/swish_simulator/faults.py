"""A slow and flaky Swish, set at run time: per operation a delay, a share of
calls answered 503 and a share whose connection is dropped, optionally for a
limited time. Also counts the calls each operation received.

The settings live in the database (one ``SimulatedFault`` row per
operation), so every process serving the simulator (the shop's own app
servers, the simulator's gunicorn under ``make run``) sees a change at its
next call. Set them with ``manage.py swish_faults`` or the JSON endpoint
``/swish-simulator/faults/``.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone

from .models import SimulatedFault, SimulatedOperation

logger = logging.getLogger(__name__)

OPERATIONS = tuple(SimulatedOperation.values)
# Longest delay accepted: beyond any client's timeout, short enough that a
# mistyped value does not hold the simulator's threads for hours.
MAX_DELAY_SECONDS = 120.0

_random = random.SystemRandom()


class FaultError(ValueError):
    """Settings the simulator refuses, with a sentence saying why."""


@dataclass(frozen=True)
class Fault:
    delay_seconds: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0

    def outcome(self, roll: float | None = None) -> str:
        """``"drop"``, ``"error"`` or ``"answer"`` for one call."""
        roll = _random.random() if roll is None else roll
        if roll < self.drop_rate:
            return "drop"
        if roll < self.drop_rate + self.error_rate:
            return "error"
        return "answer"


NO_FAULT = Fault()


def _in_force(row: SimulatedFault | None, now) -> Fault:
    if row is None or (row.until is not None and row.until <= now):
        return NO_FAULT
    return Fault(row.delay_seconds, row.error_rate, row.drop_rate)


def on_call(operation: str) -> Fault:
    """Count one call of ``operation`` and return the fault in force for it."""
    rows = SimulatedFault.objects.filter(pk=operation)
    if not rows.update(calls=F("calls") + 1):
        with transaction.atomic():
            SimulatedFault.objects.get_or_create(pk=operation)
        rows.update(calls=F("calls") + 1)
    return _in_force(rows.first(), timezone.now())


def current(operation: str) -> Fault:
    """The fault in force for ``operation`` now (the call is not counted)."""
    return _in_force(
        SimulatedFault.objects.filter(pk=operation).first(), timezone.now()
    )


def check(
    *, delay_seconds: float, error_rate: float, drop_rate: float, seconds
) -> None:
    """Raise FaultError unless the values make sense."""
    values = (delay_seconds, error_rate, drop_rate)
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise FaultError("delay_seconds, error_rate and drop_rate must be numbers")
    if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
        raise FaultError(f"delay_seconds must be 0 to {MAX_DELAY_SECONDS:g}")
    if not (0 <= error_rate <= 1 and 0 <= drop_rate <= 1):
        raise FaultError("error_rate and drop_rate are shares from 0 to 1")
    if error_rate + drop_rate > 1:
        raise FaultError("error_rate and drop_rate add up to more than 1")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or seconds <= 0
    ):
        raise FaultError("seconds must be a positive number (or absent: no end)")


def set_faults(
    operations,
    *,
    delay_seconds: float = 0.0,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    seconds: float | None = None,
) -> None:
    """Set the fault of each of ``operations`` (all zero clears it); it
    lapses after ``seconds`` if given."""
    check(
        delay_seconds=delay_seconds,
        error_rate=error_rate,
        drop_rate=drop_rate,
        seconds=seconds,
    )
    unknown = sorted(set(operations) - set(OPERATIONS))
    if unknown or not operations:
        raise FaultError(
            f"unknown operation {', '.join(unknown) or '(none)'};"
            f" known: {', '.join(OPERATIONS)}"
        )
    until = timezone.now() + timedelta(seconds=seconds) if seconds else None
    with transaction.atomic():
        for operation in operations:
            SimulatedFault.objects.update_or_create(
                pk=operation,
                defaults={
                    "delay_seconds": float(delay_seconds),
                    "error_rate": float(error_rate),
                    "drop_rate": float(drop_rate),
                    "until": until,
                },
            )
    logger.warning(
        "simulator faults: %s delay %.1f s, error %.2f, drop %.2f, for %s",
        ",".join(operations),
        delay_seconds,
        error_rate,
        drop_rate,
        f"{seconds:g} s" if seconds else "ever",
    )


def clear() -> None:
    """No fault on any operation (the counts stay)."""
    SimulatedFault.objects.update(
        delay_seconds=0.0, error_rate=0.0, drop_rate=0.0, until=None
    )


def reset_calls() -> None:
    SimulatedFault.objects.update(calls=0)


def state() -> dict:
    """Every operation's fault in force and its calls, as JSON."""
    now = timezone.now()
    rows = {row.pk: row for row in SimulatedFault.objects.all()}
    result = {}
    for operation in OPERATIONS:
        row = rows.get(operation)
        fault = _in_force(row, now)
        result[operation] = {
            "delay_seconds": fault.delay_seconds,
            "error_rate": fault.error_rate,
            "drop_rate": fault.drop_rate,
            "until": (
                row.until.isoformat()
                if row is not None and row.until and fault != NO_FAULT
                else None
            ),
            "calls": row.calls if row is not None else 0,
        }
    return result


def drop_connection(request) -> HttpResponse:
    """Close the client's connection without an answer.

    Under gunicorn (``make run``, the fault suite) the socket is shut down,
    so the client sees the connection closed with no response. A server that
    does not hand out its socket (the test client, runserver) gets an empty
    502 instead, and the log says so.
    """
    sock = request.META.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    else:
        logger.warning("simulator: cannot drop this server's connection; 502")
    return HttpResponse(status=502)


def apply(request, operation: str) -> HttpResponse | None:
    """Count the call, wait out the delay, then return the failure to answer
    (503 or a dropped connection), or None: answer normally."""
    fault = on_call(operation)
    if fault.delay_seconds:
        time.sleep(fault.delay_seconds)
    outcome = fault.outcome()
    if outcome == "drop":
        logger.info("simulator fault: %s dropped", operation)
        return drop_connection(request)
    if outcome == "error":
        logger.info("simulator fault: %s answers 503", operation)
        return HttpResponse(status=503)
    return None
