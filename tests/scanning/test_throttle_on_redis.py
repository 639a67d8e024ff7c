"""With REDIS_URL set, the throttle counts in Redis (a server started here)."""

import shutil
import subprocess
import time

import pytest
import redis
from django.core.cache import caches

from ticketshop.scanning.errors import TooManyAttempts
from ticketshop.scanning.throttle import refund_attempt, reserve_attempt
from ticketshop.security.models import RateCounter

REDIS_SERVER = shutil.which("redis-server")
T0 = 1_800_000_000.0

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs redis-server (apt-get install redis-server)"
)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of this module's own, on a Unix socket in its temporary
    folder and no TCP port: nothing else can answer there, and clearing it
    clears no one else's data."""
    folder = tmp_path_factory.mktemp("redis")
    socket_path = folder / "redis.sock"
    server = subprocess.Popen(  # noqa: S603
        [
            REDIS_SERVER,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
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
    client = redis.Redis(unix_socket_path=str(socket_path))
    deadline = time.monotonic() + 10
    while True:
        try:
            info = client.info("server")
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    assert info["process_id"] == server.pid  # our own server answers
    client.close()
    yield f"unix://{socket_path}?db=0"
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
