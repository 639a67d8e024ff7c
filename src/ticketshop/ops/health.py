"""GET /healthz: is this app server fit to take buyers?

Cheap enough to be polled every second by a load balancer: one indexed
query (which also proves the database answers), and a set and get of one
cache key. No authentication, no personal data.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .heartbeat import live_workers

logger = logging.getLogger(__name__)


def check_database_and_worker() -> tuple[str, str]:
    try:
        alive = live_workers().exists()
    except Exception:
        logger.warning("health check: database unreachable", exc_info=True)
        # A broken connection is dropped, so the next poll opens a new one.
        connection.close_if_unusable_or_obsolete()
        return "error", "unknown"
    return "ok", "ok" if alive else "stale"


def check_cache() -> str:
    """Write and read back a key of this check's own: with one key for all,
    two servers checked at the same instant (a proxy checks its upstreams on
    one tick) could read each other's value, and one would answer 503."""
    nonce = secrets.token_hex(8)
    key = f"ops:healthz:{nonce}"
    try:
        cache.set(key, nonce, timeout=30)
        found = cache.get(key)
        cache.delete(key)
        return "ok" if found == nonce else "error"
    except Exception:
        logger.warning("health check: cache unreachable", exc_info=True)
        return "error"


@never_cache
@require_GET
def healthz(request):
    """200 when database, cache and a worker are fine, else 503 naming the part.

    ``?scope=web`` leaves the worker out: a load balancer polls that, so that
    a stopped worker (e-mails wait) does not take every app server out of
    the pool (sales stop).
    """
    database, worker = check_database_and_worker()
    if database == "ok" or not _cache_uses_database():
        cache_state = check_cache()
    else:
        cache_state = "unknown"
    parts = {"database": database, "cache": cache_state, "worker": worker}
    if request.GET.get("scope") == "web":
        del parts["worker"]
    healthy = all(state == "ok" for state in parts.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **parts, "swish": swish_state()},
        status=200 if healthy else 503,
    )


def swish_state() -> str:
    """The Swish certificate's state: "ok" or what to fix (from the files,
    cached per process; no network). Reported only: an expiring or even
    expired certificate stops Swish payments, not free orders or the door,
    so it never takes a server out of the load balancer (503)."""
    from ticketshop.payments.certificates import health_state

    return health_state()


def _cache_uses_database() -> bool:
    from django.conf import settings

    return settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
