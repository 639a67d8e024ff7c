"""Throttle of scanner password checks per client address.

Each check is counted before the password is verified (atomically, in the
store all server processes share: see ticketshop.security.ratelimit) and
refunded when the password was right. A burst of concurrent guesses from one
address therefore gets at most SCANNER_THROTTLE_LIMIT checks per window: the
rest are refused before the slow hash. A client's window opens at its first
check and lasts SCANNER_THROTTLE_WINDOW_SECONDS; once it holds LIMIT wrong
passwords, every password from that client that is not already known to be
right is refused until the window ends. A password verified before (see
credentials.KNOWN_GOOD_PREFIX) is no guess and is never refused, so one
guesser on a venue's shared address cannot lock out its doors.
Time is an argument, so tests pass it in rather than wait.
"""

from django.conf import settings

from ticketshop.security import ratelimit
from ticketshop.security.clients import client_key

from .errors import TooManyAttempts

PREFIX = "scanner-password:"


def reserve_attempt(*, client: str, now: float) -> ratelimit.Hit:
    """Count a password check; raise TooManyAttempts if the window is full."""
    attempt = ratelimit.hit(
        PREFIX + client_key(client),
        window=settings.SCANNER_THROTTLE_WINDOW_SECONDS,
        now=now,
    )
    if attempt.count > settings.SCANNER_THROTTLE_LIMIT:
        raise TooManyAttempts(retry_after=attempt.retry_after(now))
    return attempt


def refund_attempt(attempt: ratelimit.Hit) -> None:
    """Take back a check whose password was right: it was no guess."""
    ratelimit.refund(attempt)
