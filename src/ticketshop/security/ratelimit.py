"""Atomic counts per client in windows of fixed length, shared by all processes.

A client's window opens at its first counted request and lasts `window`
seconds; every request in it adds one, atomically, before anything else is
done, so a burst of concurrent requests can never all pass a check that was
read before any of them was counted. A request that turns out not to count
(a right scanner password) is refunded.

The counts live where the shared cache lives: in Redis when the default
cache is Redis (one Lua script per hit), otherwise in the database's
security_ratecounter table (one INSERT … ON CONFLICT DO UPDATE … RETURNING,
which PostgreSQL and SQLite both run atomically). Django's database cache
cannot do this: its incr() is a read followed by a write.

Time is an argument so that tests pass it in rather than wait.
"""

import math
import random
import time
from dataclasses import dataclass
from functools import cache, lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.db.models import F

from ticketshop.db import sql

from .clients import client_address, client_key
from .errors import RateLimited
from .models import RateCounter
from .startup import parse_rate

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
REDIS_PREFIX = "ticketshop:rate:"
# Seconds a Redis key outlives its window (expiry is on Redis's own clock).
REDIS_MARGIN_SECONDS = 5
# Old rows are deleted by about one in this many new windows.
PRUNE_ONE_IN = 100


@dataclass(frozen=True)
class Hit:
    """One counted request: its window and the window's count including it."""

    name: str
    start: float
    end: float
    count: int

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends (at least 1, at most its length).

        A request may read the clock before a concurrent one opens the window
        it is then counted in (see _hit_sql), so `now` can precede `start`;
        counting from `start` keeps the answer within the window.
        """
        return max(1, math.ceil(self.end - max(now, self.start)))


def hit(name: str, *, window: float, now: float) -> Hit:
    """Count one request against `name`; return the window and its count."""
    location = _redis_location()
    if location is not None:
        return _redis_hit(location, name, window=window, now=now)
    return _database_hit(name, window=window, now=now)


def refund(counted: Hit) -> None:
    """Take back one count of the hit's window (if that window still runs)."""
    location = _redis_location()
    if location is not None:
        _redis_client(location).eval(
            _REDIS_REFUND, 1, REDIS_PREFIX + counted.name, repr(counted.start)
        )
        return
    RateCounter.objects.filter(
        name=counted.name, window_start=counted.start, hits__gt=0
    ).update(hits=F("hits") - 1)


def peek(name: str, *, now: float) -> Hit | None:
    """Return the running window of `name` without counting, or None."""
    location = _redis_location()
    if location is not None:
        start, end, count = _redis_client(location).hmget(
            REDIS_PREFIX + name, "s", "e", "n"
        )
        if start is None:
            return None
        found = Hit(name=name, start=float(start), end=float(end), count=int(count))
    else:
        row = (
            RateCounter.objects.filter(name=name)
            .values_list("window_start", "window_end", "hits")
            .first()
        )
        if row is None:
            return None
        found = Hit(name=name, start=row[0], end=row[1], count=row[2])
    return found if found.end > now else None


# --- The database ------------------------------------------------------------


@cache
def _hit_sql(alias: str) -> str:
    """One upsert that counts a hit and returns the window (built by db.sql)."""
    table = sql.table(RateCounter)

    # A window is over once it has ended; then this request opens a new one.
    # (Not when it "starts in the future": concurrent requests read the clock
    # before they queue, so a later-counted one may carry an earlier `now`.)
    fields = ("name", "window_start", "window_end", "hits")
    # Unqualified (the column to set, and excluded's), and the row's current.
    name, start, end, hits = (sql.column(RateCounter, f, "") for f in fields)
    _, now_start, now_end, now_hits = (sql.column(RateCounter, f) for f in fields)
    over = f"{now_end} <= %s"
    return (
        f"INSERT INTO {table}"  # noqa: S608
        f" ({name}, {start}, {end}, {hits})"
        f" VALUES (%s, %s, %s, 1)"
        f" ON CONFLICT ({name}) DO UPDATE SET"
        f" {hits} = CASE WHEN {over} THEN 1 ELSE {now_hits} + 1 END,"
        f" {start} = CASE WHEN {over}"
        f" THEN excluded.{start} ELSE {now_start} END,"
        f" {end} = CASE WHEN {over}"
        f" THEN excluded.{end} ELSE {now_end} END"
        f" RETURNING {start}, {end}, {hits}"
    )


def _database_hit(name: str, *, window: float, now: float) -> Hit:
    sql_text = _hit_sql(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql_text, [name, now, now + window, now, now, now])
        start, end, count = cursor.fetchone()
    if count == 1 and random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311
        RateCounter.objects.filter(window_end__lt=now - 3600).delete()
    return Hit(name=name, start=start, end=end, count=count)


# --- Redis -------------------------------------------------------------------

# KEYS[1]: the counter; ARGV: now, the new window's end, its TTL in ms.
# Strings go in and out unchanged, so the window's start compares exactly.
_REDIS_HIT = """
local start = redis.call('HGET', KEYS[1], 's')
local now = tonumber(ARGV[1])
if start then
  local stop = redis.call('HGET', KEYS[1], 'e')
  if tonumber(stop) > now then
    local count = redis.call('HINCRBY', KEYS[1], 'n', 1)
    return {start, stop, count}
  end
end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'e', ARGV[2], 'n', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[1], ARGV[2], 1}
"""
_REDIS_REFUND = """
if redis.call('HGET', KEYS[1], 's') == ARGV[1]
   and tonumber(redis.call('HGET', KEYS[1], 'n')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return 0
"""


def _redis_location() -> str | None:
    config = settings.CACHES["default"]
    if config["BACKEND"] != REDIS_CACHE:
        return None
    location = config["LOCATION"]
    if isinstance(location, list | tuple):
        location = location[0]
    return location.split(",")[0]


@lru_cache
def _redis_client(location: str) -> redis.Redis:
    return redis.Redis.from_url(location)


def _redis_hit(location: str, name: str, *, window: float, now: float) -> Hit:
    ttl_ms = math.ceil((window + REDIS_MARGIN_SECONDS) * 1000)
    start, end, count = _redis_client(location).eval(
        _REDIS_HIT, 1, REDIS_PREFIX + name, repr(now), repr(now + window), ttl_ms
    )
    return Hit(name=name, start=float(start), end=float(end), count=int(count))


# --- Per-client limits of a view ---------------------------------------------


def clock() -> float:
    """The rate limits' clock: seconds since the epoch (tests replace it, so
    that a burst falls in one window however long the machine stalls)."""
    return time.time()


def limit_client(request, *, scope: str, rate: str, now: float | None = None) -> None:
    """Count the request against its client; raise RateLimited past `rate`.

    `rate` is as parse_rate reads it; empty means no limit. The client is
    the address behind TRUSTED_PROXY_COUNT proxies (an IPv6 /64).
    """
    parsed = parse_rate(rate)
    if parsed is None:
        return
    limit, window = parsed
    now = clock() if now is None else now
    name = f"{scope}:{client_key(client_address(request))}"
    counted = hit(name, window=window, now=now)
    if counted.count > limit:
        raise RateLimited(retry_after=counted.retry_after(now))
