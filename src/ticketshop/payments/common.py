"""Small pieces every payment flow uses: ids, Swish's times, how long a
create or a refund's PUT may be in flight."""

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import SwishStatus

# ERROR DS24: Swish timed out waiting for the bank; the money may have moved.
UNKNOWN_OUTCOME = "DS24"
# Recorded on a request Swish had taken (CREATED) when a read answers 404:
# Swish no longer knows it, so it cannot say whether it was paid.
NOT_FOUND = "NOTFOUND"


def outcome_unknown(payment) -> bool:
    """Swish cannot tell whether the payment was made: it answered DS24, or
    it no longer knows a request it had taken. Only then may an organiser
    settle it by hand (after checking with the bank)."""
    if payment is None:
        return False
    if payment.status == SwishStatus.ERROR:
        return payment.error_code == UNKNOWN_OUTCOME
    return payment.status == SwishStatus.CREATED and payment.error_code == NOT_FOUND


def new_swish_id() -> str:
    """Return a payment request or refund id: 32 upper-case hex."""
    return uuid.uuid4().hex.upper()


def creation_window() -> timedelta:
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


def refund_send_grace() -> timedelta:
    """A refund still CREATING this long after it was recorded or last sent
    is stuck (its send task or its PUT was lost): reconciliation resends it
    with the same id, and check_consistency reports it."""
    return creation_window()
