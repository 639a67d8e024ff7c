"""Throttle of wrong scanner passwords per client address.

Counts live in Django's default cache, which every server process shares
(the database cache by default, Redis when REDIS_URL is set). A client's
window opens at its first wrong password; once it holds LIMIT wrong
passwords, every request from that client is refused until the window ends.
Time is an argument, so tests pass it in rather than wait.
"""

import math

from django.conf import settings
from django.core.cache import cache

from .errors import TooManyAttempts

_PREFIX = "scanning:wrong-password"


def _start_key(client: str) -> str:
    return f"{_PREFIX}:start:{client}"


def _count_key(client: str, start: float) -> str:
    return f"{_PREFIX}:count:{client}:{start}"


def _window() -> int:
    return settings.SCANNER_THROTTLE_WINDOW_SECONDS


def _current_start(client: str, now: float) -> float | None:
    start = cache.get(_start_key(client))
    if start is None or now - start >= _window() or start > now:
        return None
    return start


def check_not_throttled(*, client: str, now: float) -> None:
    """Raise TooManyAttempts while the client's window holds too many failures."""
    start = _current_start(client, now)
    if start is None:
        return
    if cache.get(_count_key(client, start), 0) >= settings.SCANNER_THROTTLE_LIMIT:
        raise TooManyAttempts(retry_after=max(1, math.ceil(start + _window() - now)))


def record_wrong_password(*, client: str, now: float) -> int:
    """Count a wrong password from the client; return the window's count."""
    # The cache expires keys on its own clock; the margin only cleans up; the
    # window itself is judged on `now`.
    timeout = _window() + 5
    start = _current_start(client, now)
    if start is None:
        start = round(now, 3)
        if not cache.add(_start_key(client), start, timeout=timeout):
            # Another process opened a window first, or an old one lingers.
            existing = _current_start(client, now)
            if existing is None:
                cache.set(_start_key(client), start, timeout=timeout)
            else:
                start = existing
    key = _count_key(client, start)
    cache.add(key, 0, timeout=timeout)
    try:
        # Atomic on Redis; on the database cache a read and a write.
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
