"""The per-process cache of GET /get_chapterevents/ stays honest."""

import time

import pytest

from tests.factories import event_with_types
from ticketshop.orders import selectors
from ticketshop.orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)

CACHE_SECONDS = 0.5


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CHAPTEREVENTS_CACHE_SECONDS = CACHE_SECONDS
    selectors._listing_cache.entry = None
    yield
    selectors._listing_cache.entry = None


def seats_left(client):
    return [
        e["tickets_left"]
        for e in client.get("/get_chapterevents/").json()["chapter_events"]
    ]


def reserve(post_json, event, ticket_type, count):
    response = post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": ticket_type.id, "count": count}],
        },
    )
    assert response.status_code == 201


def test_writes_that_bypass_signals_show_once_the_cache_period_is_over(
    client, post_json
):
    event, (standard, _) = event_with_types(seats=10)
    reserve(post_json, event, standard, 4)
    time.sleep(0.15)
    assert seats_left(client) == [6]
    # A bulk update sends no signal: the cached copy is served ...
    Order.objects.update(status=OrderStatus.FAILED_ADMIN)
    assert seats_left(client) == [6]
    # ... but never for longer than the cache period.
    time.sleep(CACHE_SECONDS + 0.05)
    assert seats_left(client) == [10]


def test_a_reservation_in_this_process_shows_within_a_tenth_of_a_second(
    client, post_json
):
    event, (standard, _) = event_with_types(seats=10)
    assert seats_left(client) == [10]
    reserve(post_json, event, standard, 3)
    time.sleep(0.15)
    assert seats_left(client) == [7]


def test_a_new_event_is_listed_at_once(client):
    event_with_types()
    assert len(seats_left(client)) == 1
    event_with_types()
    assert len(seats_left(client)) == 2


def test_zero_turns_the_cache_off(client, settings):
    settings.CHAPTEREVENTS_CACHE_SECONDS = 0
    event, _ = event_with_types(seats=10)
    assert seats_left(client) == [10]
    type(event).objects.filter(pk=event.pk).update(seats=5)  # no signal
    assert seats_left(client) == [5]
