"""With REDIS_URL set, the throttle counts in Redis (a server started here)."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches

from ticketshop.scanning.errors import TooManyAttempts
from ticketshop.scanning.throttle import check_not_throttled, record_wrong_password

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


def test_ten_wrong_passwords_block_until_the_window_passes(redis_cache):
    for i in range(10):
        check_not_throttled(client="198.51.100.7", now=T0 + i)
        record_wrong_password(client="198.51.100.7", now=T0 + i)

    with pytest.raises(TooManyAttempts):
        check_not_throttled(client="198.51.100.7", now=T0 + 30)
    check_not_throttled(client="198.51.100.7", now=T0 + 60)
    assert redis_cache.get("scanning:wrong-password:start:198.51.100.7") == T0


def test_concurrent_wrong_passwords_are_all_counted(redis_cache):
    from concurrent.futures import ThreadPoolExecutor

    record_wrong_password(client="203.0.113.5", now=T0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda _: record_wrong_password(client="203.0.113.5", now=T0 + 1),
                range(40),
            )
        )

    # INCR is atomic in Redis: 1 + 40, none lost.
    assert redis_cache.get(f"scanning:wrong-password:count:203.0.113.5:{T0}") == 41
