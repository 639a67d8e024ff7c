"""The status answer's ``poll_after_seconds``: random, 3-5 s near the front
of the queue, growing with the estimated wait to about a minute far back
(never more than a quarter of the time to reserve for an entry that the
next round could admit); the queue page's meta refresh (no JavaScript)
waits as long. Over HTTP."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.release.helpers import queued_event
from ticketshop.release.models import Entry, Release
from ticketshop.release.selectors import draw_due

pytestmark = pytest.mark.django_db

POLLS = 25


def buyer(event, n):
    """A client whose session holds an entry in the event's queue."""
    client = Client()
    response = client.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": f"buyer{n}@example.org", "tickets": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return client


def intervals(client, event):
    seen = []
    for _ in range(POLLS):
        response = client.get(f"/api/queue/status/?chapter_event={event.pk}")
        assert response.status_code == 200
        seen.append(response.json()["poll_after_seconds"])
    return seen


def queue_with_front_and_back(**release_fields):
    """After the draw, 100 admitted in the last 100 s (one a second): one
    buyer is next, one has 2,000 people ahead (about 2,000 s to wait)."""
    event, _, release = queued_event(**release_fields)
    front, back = buyer(event, 1), buyer(event, 2)
    now = timezone.now()
    Release.objects.filter(pk=release.pk).update(
        drawn_at=now - timedelta(seconds=100), admitted_up_to=100
    )
    Entry.objects.filter(email="buyer1@example.org").update(rank=101)
    Entry.objects.filter(email="buyer2@example.org").update(rank=2101)
    return event, front, back


def test_the_interval_grows_with_the_wait_and_is_random():
    event, front, back = queue_with_front_and_back()
    near = intervals(front, event)
    assert all(3 <= s <= 5 for s in near), near
    far = intervals(back, event)
    assert all(45 <= s <= 60 for s in far), far
    assert len(set(far)) > 1  # random, so that browsers do not ask in step
    body = back.get(f"/api/queue/status/?chapter_event={event.pk}").json()
    assert body["people_ahead"] == 2000 and body["estimated_wait_seconds"] > 1000


def test_never_longer_than_a_quarter_of_the_time_to_reserve_near_the_front():
    # 2,000 ahead, at most 3,000 checking out at once: the next round could
    # admit it, so it asks within a quarter of the 120 s to reserve.
    event, _, back = queue_with_front_and_back(admit_seconds=120, max_checking_out=3000)
    assert all(24 <= s <= 30 for s in intervals(back, event))


def test_far_back_asks_about_a_minute_apart_even_if_reserving_is_short():
    # 2,000 ahead, at most 100 checking out at once: whole rounds are
    # ahead, so the estimated wait (2,000 s) sets the pace, up to a minute.
    event, _, back = queue_with_front_and_back(admit_seconds=120)
    seen = intervals(back, event)
    assert all(45 <= s <= 60 for s in seen), seen
    assert len(set(seen)) > 1


def test_the_page_refreshes_after_the_same_interval_without_javascript():
    event, front, back = queue_with_front_and_back()
    for client, low, high in ((front, 3, 5), (back, 45, 60)):
        page = client.get(f"/queue/{event.pk}/").content.decode()
        refresh = int(re.search(r'http-equiv="refresh" content="(\d+)"', page)[1])
        poll = int(re.search(r'data-poll="(\d+)"', page)[1])
        assert low <= refresh <= high and refresh == poll


def draw_due_in_47_s(settings, release):
    """The window closes in 30 s and the draw is due 17 s later (15 s for
    joins on their way, one 2 s round); reserving takes 120 s."""
    settings.RELEASE_ARRIVAL_GRACE_SECONDS = 15
    settings.RELEASE_TICK_SECONDS = 2
    Release.objects.filter(pk=release.pk).update(
        window_closes_at=timezone.now() + timedelta(seconds=30), admit_seconds=120
    )


def after_the_draw(client, event, release):
    """The moment the answer sends the browser back to, in seconds after the
    draw is due (timed around the request, so a slow machine does not move
    it)."""
    due = draw_due(Release.objects.get(pk=release.pk))
    response = client.get(f"/api/queue/status/?chapter_event={event.pk}")
    assert response.status_code == 200
    return (timezone.now() - due).total_seconds() + response.json()[
        "poll_after_seconds"
    ]


def test_before_the_draw_buyers_ask_once_after_it_is_due_not_ever_more_often(
    settings,
):
    """Nobody's turn can come before the draw: a buyer asks about once a
    minute until the draw is near, then once, at its own moment 4-60 s
    after the draw is due (at most half the time to reserve), the same at
    every answer, and not ever more often as the window closes."""
    settings.RELEASE_ARRIVAL_GRACE_SECONDS = 15
    settings.RELEASE_TICK_SECONDS = 2
    start = timezone.now()
    # The window closes 10 minutes from now: the first asks ~a minute apart.
    event, _, release = queued_event(start=start + timedelta(minutes=9))
    client = buyer(event, 1)
    assert all(48 <= s <= 60 for s in intervals(client, event))
    draw_due_in_47_s(settings, release)
    seen = [after_the_draw(client, event, release) for _ in range(POLLS)]
    # One moment, 4-60 s after the draw is due: the same each time (whole
    # seconds, and the request's own time).
    assert all(4 - 2 <= m <= 60 + 2 for m in seen), seen
    assert max(seen) - min(seen) <= 2, seen


def test_the_first_answers_after_the_draw_are_spread_evenly_over_a_minute(settings):
    """Each entry's moment after the draw is its own, fixed by its public
    id: a queue's first answers after the draw spread over 4-60 s (not
    bunched into the first seconds), and never more than half the time to
    reserve."""
    event, _, release = queued_event(start=timezone.now() + timedelta(minutes=9))
    # Every moment is within two minutes.
    draw_due_in_47_s(settings, release)
    moments = [after_the_draw(buyer(event, n), event, release) for n in range(60)]
    assert all(4 - 2 <= m <= 60 + 2 for m in moments), moments
    quarters = [
        sum(1 for m in moments if 4 + 14 * q <= m < 4 + 14 * (q + 1)) for q in range(4)
    ]
    assert all(q >= 5 for q in quarters), quarters  # 15 expected in each
    # A short time to reserve (60 s) keeps the moments within half of it.
    Release.objects.filter(pk=release.pk).update(admit_seconds=60)
    client = buyer(event, 100)
    seen = [after_the_draw(client, event, release) for _ in range(POLLS)]
    assert all(4 - 2 <= m <= 30 + 2 for m in seen), seen
