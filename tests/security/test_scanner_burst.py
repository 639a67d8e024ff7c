"""Issue 11, item 3: a burst of concurrent guesses gets at most 10 checks.

20 wrong scanner passwords sent at once from one address to the live
server, with the real (slow) password hash: each attempt is counted before
the hash is checked, so at most SCANNER_THROTTLE_LIMIT are answered 401 and
the rest 429, on the database (SQLite or PostgreSQL) and on Redis.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.cache import caches

from tests.scanning.factories import (
    SCANNER_PASSWORD,
    ScannerAccountFactory,
    paid_ticket,
)
from tests.scanning.test_throttle_on_redis import (
    REDIS_SERVER,
    redis_url,  # noqa: F401
)
from ticketshop.scanning import views
from ticketshop.scanning.credentials import verified_credentials

BURST = 20


@pytest.fixture
def door(live_server, transactional_db, settings, monkeypatch):
    # The default (slow) hasher: the race is between counting and hashing.
    settings.SCANNER_THROTTLE_LIMIT = 10
    verified_credentials.clear()
    ScannerAccountFactory()
    real_check = views.authenticate_scanner

    def counted_check(**kwargs):
        with checks_lock:
            checks.append(kwargs["password"])
        return real_check(**kwargs)

    checks: list[str] = []
    checks_lock = threading.Lock()
    monkeypatch.setattr(views, "authenticate_scanner", counted_check)
    yield live_server.url, paid_ticket(), checks
    verified_credentials.clear()


def burst(url: str, external_id: str) -> list[int]:
    start = threading.Barrier(BURST)

    def guess(i: int) -> int:
        start.wait()
        return requests.put(
            f"{url}/validate_ticket/",
            json={
                "external_id": external_id,
                "password": f"guess {i}",
                "use_ticket": False,
            },
            headers={"Connection": "close"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(guess, range(BURST)))


def test_burst_of_wrong_passwords_gets_at_most_ten_checks(door):
    url, ticket, checks = door

    statuses = burst(url, ticket.external_id)

    # No password was even checked beyond the limit.
    assert len(checks) == 10
    assert statuses.count(401) == 10, statuses
    assert statuses.count(429) == BURST - 10, statuses


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")
def test_burst_on_redis_gets_at_most_ten_checks(door, settings, redis_url):  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    caches["default"].clear()
    url, ticket, checks = door

    statuses = burst(url, ticket.external_id)

    # No password was even checked beyond the limit.
    assert len(checks) == 10
    assert statuses.count(401) == 10, statuses
    assert statuses.count(429) == BURST - 10, statuses
    caches["default"].clear()


def test_right_passwords_in_a_burst_are_refunded(door):
    url, ticket, _ = door

    def right(_):
        return requests.put(
            f"{url}/validate_ticket/",
            json={
                "external_id": ticket.external_id,
                "password": SCANNER_PASSWORD,
                "use_ticket": False,
            },
            headers={"Connection": "close"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(right, range(15)))

    assert statuses == [200] * 15
