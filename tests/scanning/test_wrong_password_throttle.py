"""Ten wrong passwords from one client in a minute: 429 until the window ends."""

import pytest
from django.core.management import call_command

from ticketshop.scanning.credentials import verified_credentials
from ticketshop.scanning.errors import TooManyAttempts
from ticketshop.scanning.throttle import reserve_attempt
from ticketshop.security.models import RateCounter

from .factories import paid_ticket

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _counters_in_the_database(settings):
    """These tests read the database's counters; with Redis the counters
    live there instead (tests/scanning/test_throttle_on_redis.py). Pinned to
    the database, whatever REDIS_URL the run has."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ticketshop_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    # A run with REDIS_URL made its test database without the cache table.
    call_command("createcachetable", verbosity=0)


def fail(times, *, client="198.51.100.7", start=T0, step=1.0):
    for i in range(times):
        reserve_attempt(client=client, now=start + i * step)


def check_not_throttled(*, client, now):
    """A right password: counted, then refunded."""
    from ticketshop.scanning.throttle import refund_attempt

    refund_attempt(reserve_attempt(client=client, now=now))


def test_ten_wrong_passwords_block_the_client():
    fail(10)

    with pytest.raises(TooManyAttempts) as error:
        check_not_throttled(client="198.51.100.7", now=T0 + 10)
    # The window opened at the first failure and lasts a minute.
    assert error.value.retry_after == 50


def test_nine_wrong_passwords_do_not_block():
    fail(9)

    check_not_throttled(client="198.51.100.7", now=T0 + 9)


def test_block_lasts_until_the_window_passes():
    fail(10)

    with pytest.raises(TooManyAttempts):
        check_not_throttled(client="198.51.100.7", now=T0 + 59.9)
    check_not_throttled(client="198.51.100.7", now=T0 + 60)


def test_new_window_counts_from_zero():
    fail(10)

    fail(9, start=T0 + 61)

    check_not_throttled(client="198.51.100.7", now=T0 + 70)
    reserve_attempt(client="198.51.100.7", now=T0 + 71)
    with pytest.raises(TooManyAttempts):
        check_not_throttled(client="198.51.100.7", now=T0 + 72)


def test_wrong_passwords_spread_over_more_than_a_minute_do_not_block():
    fail(15, step=7.0)  # 15 failures over 98 s: at most 9 in any window

    check_not_throttled(client="198.51.100.7", now=T0 + 99)


def test_other_clients_are_not_blocked():
    fail(10)

    check_not_throttled(client="203.0.113.9", now=T0 + 10)


def test_counts_live_in_the_database_all_processes_share():
    fail(3)

    # Not a per-process count: every gunicorn worker must see the same one.
    counter = RateCounter.objects.get(name="scanner-password:198.51.100.7")
    assert (counter.window_start, counter.hits) == (T0, 3)


def test_over_http_the_eleventh_request_is_429_even_with_the_right_password(scan):
    ticket = paid_ticket()
    address = {"REMOTE_ADDR": "192.0.2.44"}
    statuses = [
        scan(ticket.external_id, password=f"guess {i}", **address).status_code
        for i in range(10)
    ]

    assert statuses == [401] * 10
    assert scan(ticket.external_id, **address).status_code == 429
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    # Another door is not affected.
    assert scan(ticket.external_id, REMOTE_ADDR="192.0.2.45").status_code == 200


def test_right_passwords_are_never_counted(scan):
    ticket = paid_ticket()
    for _ in range(15):
        assert scan(ticket.external_id, use_ticket=False).status_code == 200
    assert RateCounter.objects.get(name="scanner-password:127.0.0.1").hits == 0


def test_forwarded_for_is_ignored_without_proxies(scan, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    ticket = paid_ticket()
    for i in range(10):
        scan(
            ticket.external_id,
            password="guess",
            REMOTE_ADDR="192.0.2.60",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )

    # Inventing a new X-Forwarded-For each time does not escape the count.
    response = scan(
        ticket.external_id, REMOTE_ADDR="192.0.2.60", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429


def test_behind_one_proxy_the_address_it_saw_is_counted(scan, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    ticket = paid_ticket()
    for i in range(10):
        scan(
            ticket.external_id,
            password="guess",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 198.51.100.20",
        )

    blocked = scan(
        ticket.external_id,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.20",
    )
    other_door = scan(
        ticket.external_id,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.21",
    )
    assert (blocked.status_code, other_door.status_code) == (429, 200)


@pytest.mark.parametrize("other_process", [False, True])
def test_a_full_window_lets_a_door_that_logged_in_keep_scanning(scan, other_process):
    ticket = paid_ticket()
    address = {"REMOTE_ADDR": "192.0.2.46"}
    # The door logs in (the slow check) on the venue's shared address.
    assert scan(ticket.external_id, use_ticket=False, **address).status_code == 200
    # Someone else on the same address guesses until it is throttled.
    for i in range(10):
        assert scan(ticket.external_id, password=f"g{i}", **address).status_code == 401
    assert scan(ticket.external_id, password="g10", **address).status_code == 429
    if other_process:
        # Another server process has not seen this password yet.
        verified_credentials.clear()

    # The door's right password still scans; the guesser is still refused.
    assert scan(ticket.external_id, **address).status_code == 200
    assert scan(ticket.external_id, password="g11", **address).status_code == 429
    ticket.refresh_from_db()
    assert ticket.times_used == 1


def test_a_changed_password_is_no_longer_known(scan, scanner_account):
    ticket = paid_ticket()
    address = {"REMOTE_ADDR": "192.0.2.47"}
    assert scan(ticket.external_id, use_ticket=False, **address).status_code == 200
    scanner_account.set_password("a whole new secret")
    scanner_account.save()
    verified_credentials.clear()
    for i in range(10):
        scan(ticket.external_id, password=f"g{i}", **address)
    # The old password is refused like any guess.
    assert scan(ticket.external_id, **address).status_code == 429


def test_scans_with_a_verified_password_are_not_counted(scan, monkeypatch):
    from ticketshop.security import ratelimit

    counted = []
    real_hit = ratelimit.hit
    monkeypatch.setattr(
        ratelimit, "hit", lambda *a, **k: counted.append(a) or real_hit(*a, **k)
    )
    ticket = paid_ticket()
    for _ in range(5):
        assert scan(ticket.external_id, use_ticket=False).status_code == 200
    # Only the first scan (the slow check) was counted, and it was refunded.
    assert len(counted) == 1
    counter = RateCounter.objects.get(name="scanner-password:127.0.0.1")
    assert counter.hits == 0
