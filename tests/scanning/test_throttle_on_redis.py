"""With REDIS_URL set, the throttle counts in Redis (a server started here)."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches

from ticketshop.scanning.errors import TooManyAttempts
from ticketshop.scanning.throttle import refund_attempt, reserve_attempt
from ticketshop.security.models import RateCounter

REDIS_SERVER = shutil.which("redis-server")
PORT = 8298  # this helper's port range
T0 = 1_800_000_000.0

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs redis-server (apt-get install redis-server)"
)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(  # noqa: S603
        [
            REDIS_SERVER,
            "--port",
            str(PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{PORT}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


@pytest.mark.django_db
def test_ten_wrong_passwords_block_until_the_window_passes(redis_cache):
    for i in range(10):
        reserve_attempt(client="198.51.100.7", now=T0 + i)

    with pytest.raises(TooManyAttempts):
        reserve_attempt(client="198.51.100.7", now=T0 + 30)
    refund_attempt(reserve_attempt(client="198.51.100.7", now=T0 + 60))
    # Counted in Redis, not in the database's table.
    assert not RateCounter.objects.exists()


def test_concurrent_checks_get_at_most_ten(redis_cache):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_):
        try:
            reserve_attempt(client="203.0.113.5", now=T0 + 1)
            return "checked"
        except TooManyAttempts:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(40)))

    # Counted atomically before any check: exactly the limit pass.
    assert outcomes.count("checked") == 10
