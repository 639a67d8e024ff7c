"""Read one payment request or refund from Swish and apply what it says.

The one way the shop learns a state from Swish (a callback only names the
request; polling, reconciliation and a refund's resend read it the same
way): a ``404`` is handed to ``missing`` (if given), any other refusal or
no answer is logged and left for the next read, and an object read is
handed to ``apply``.
"""

import logging
from collections.abc import Callable

from .swish import SwishRefused, SwishUnavailable

logger = logging.getLogger(__name__)

# What read_and_apply did.
APPLIED = "applied"
MISSING = "missing"
UNKNOWN = "unknown"


def read_and_apply(
    *,
    read: Callable[[str], dict],
    swish_id: str,
    apply: Callable[[dict], None],
    missing: Callable[[], None] | None = None,
) -> str:
    """Read ``swish_id`` with ``read`` and apply it; return APPLIED, MISSING
    (Swish answered 404) or UNKNOWN (Swish could not say)."""
    try:
        obj = read(swish_id)
    except SwishRefused as exc:
        if exc.status == 404:
            if missing is not None:
                missing()
            return MISSING
        logger.warning("reading %s from Swish: %s", swish_id, exc)
        return UNKNOWN
    except SwishUnavailable as exc:
        logger.warning("reading %s from Swish: %s", swish_id, exc)
        return UNKNOWN
    apply(obj)
    return APPLIED
