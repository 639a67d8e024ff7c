"""One address cannot hoard the seats.

A burst of 100 reservations (no cookies, 8 at a time) from one address
against the live server with RESERVATION_RATE_LIMIT=20/min: at most 20
holds, the rest 429 "TooManyAttempts" with Retry-After, while another
address still reserves.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.factories import event_with_types
from ticketshop.orders.models import Order
from ticketshop.security import ratelimit
from ticketshop.security.ratelimit import Hit, parse_rate


@pytest.fixture
def shop(live_server, transactional_db, settings, monkeypatch):
    # One instant for the whole test: a burst is one window, whatever the
    # machine's stalls (the windows' arithmetic is tested with given times).
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0)
    settings.RESERVATION_RATE_LIMIT = "20/min"
    settings.TRUSTED_PROXY_COUNT = 1
    event, (standard, _) = event_with_types(seats=500, max_tickets_per_payment=8)
    return live_server.url, event, standard


def reserve(url, event, ticket_type, address: str) -> requests.Response:
    # One request a connection and no cookie jar: every request a new buyer.
    return requests.post(
        f"{url}/reserve_ticket/",
        json={
            "chapter_event": event.id,
            "tickets": [{"ticket_type": ticket_type.id, "count": 1}],
        },
        headers={"X-Forwarded-For": address, "Connection": "close"},
        timeout=60,
    )


def test_burst_from_one_address_gets_at_most_the_limit(shop):
    url, event, standard = shop

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda _: reserve(url, event, standard, "198.51.100.9"), range(100)
            )
        )

    statuses = [r.status_code for r in responses]
    # 503 "Busy" (seat lock contended) is counted too, and holds nothing.
    assert statuses.count(201) + statuses.count(503) == 20, sorted(statuses)
    assert statuses.count(429) == 80, sorted(statuses)
    assert Order.objects.count() == statuses.count(201)
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json() == "TooManyAttempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another address is counted apart.
    assert reserve(url, event, standard, "198.51.100.10").status_code == 201


def test_invented_forwarded_for_does_not_escape_without_proxies(shop, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    url, event, standard = shop
    statuses = [
        reserve(url, event, standard, f"10.0.0.{i}").status_code for i in range(21)
    ]
    assert statuses == [201] * 20 + [429]


def test_ipv6_addresses_of_one_subnet_share_a_count(shop, settings):
    settings.RESERVATION_RATE_LIMIT = "2/min"
    url, event, standard = shop
    statuses = [
        reserve(url, event, standard, f"2001:db8:1:2::{i}").status_code
        for i in range(1, 4)
    ]
    assert statuses == [201, 201, 429]
    assert reserve(url, event, standard, "2001:db8:1:3::1").status_code == 201


def test_unset_means_no_limit(shop, settings):
    settings.RESERVATION_RATE_LIMIT = ""
    url, event, standard = shop
    statuses = [
        reserve(url, event, standard, "192.0.2.1").status_code for _ in range(25)
    ]
    assert statuses == [201] * 25


@pytest.mark.parametrize(
    "text,rate",
    [
        ("20/min", (20, 60)),
        ("5/s", (5, 1)),
        ("100/h", (100, 3600)),
        ("3/10min", (3, 600)),
        ("", None),
    ],
)
def test_rates_are_read(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["20", "x/min", "20/fortnight", "0/min"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_retry_after_never_exceeds_the_window_for_an_earlier_clock():
    # A request that read the clock 0.4 s before a concurrent request opened
    # the window (and so was counted in it) once got Retry-After 61 for a
    # 60 s window.
    window = Hit(name="reserve:x", start=1000.0, end=1060.0, count=21)
    assert window.retry_after(999.6) == 60
    assert window.retry_after(1000.0) == 60
    assert window.retry_after(1059.5) == 1
    assert window.retry_after(1070.0) == 1
