"""The per-process cache of GET /get_chapterevents/ stays honest."""

import time

import pytest

from tests.factories import event_with_types
from ticketshop.events.models import ChapterEvent
from ticketshop.orders import selectors

pytestmark = pytest.mark.django_db(transaction=True)

CACHE_SECONDS = 0.5


class Clock:
    """The cache's monotonic clock, moved by the test alone, so a stalled
    machine cannot make a copy expire between two requests."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(settings, monkeypatch):
    settings.CHAPTEREVENTS_CACHE_SECONDS = CACHE_SECONDS
    clock = Clock()
    monkeypatch.setattr(selectors, "time", clock)
    selectors._listing_cache.entry = None
    selectors._listing_cache.last_write = 0.0
    selectors._listing_cache.last_change = 0.0
    yield clock
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
    client, post_json, clock
):
    event, (standard, _) = event_with_types(seats=10)
    reserve(post_json, event, standard, 4)
    clock.advance(0.15)
    assert seats_left(client) == [6]
    # A bulk update sends no signal: the cached copy is served ...
    ChapterEvent.objects.filter(pk=event.pk).update(seats=20)
    clock.advance(CACHE_SECONDS - 0.01)
    assert seats_left(client) == [6]
    # ... but never for longer than the cache period.
    clock.advance(0.02)
    assert seats_left(client) == [16]


def test_a_reservation_in_this_process_shows_within_a_tenth_of_a_second(
    client, post_json, clock
):
    event, (standard, _) = event_with_types(seats=10)
    clock.advance(0.01)  # the event's own save is older than the count
    assert seats_left(client) == [10]
    clock.advance(0.01)
    reserve(post_json, event, standard, 3)
    # Counted before the reservation: served for a moment ...
    assert seats_left(client) == [10]
    # ... but no longer than a tenth of a second after the write.
    clock.advance(0.1)
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
