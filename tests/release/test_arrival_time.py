"""A join sent inside the window but taken by a busy app server after it
closed is still drawn: it counts from when it reached the proxy (its
X-Request-Start), and the worker's draw waits RELEASE_ARRIVAL_GRACE_SECONDS
after the window closes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry
from ticketshop.security.clients import arrived_at

pytestmark = pytest.mark.django_db


def ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RELEASE_ARRIVAL_GRACE_SECONDS = 15


def join(event, email, *, sent_at=None):
    headers = {"HTTP_X_REQUEST_START": ms(sent_at)} if sent_at else {}
    response = Client().post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": email, "tickets": 1},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    return Entry.objects.get(email=email)


def closed_seconds_ago(seconds: float):
    """A queued event whose window closed ``seconds`` ago, not drawn yet."""
    start = timezone.now() - timedelta(minutes=1, seconds=seconds)
    return queued_event(seats=5, start=start)


def test_a_join_sent_in_the_window_and_taken_after_it_is_drawn(behind_proxy):
    event, _, release = closed_seconds_ago(5)
    close = release.window_closes_at
    late = join(event, "late@example.org")
    in_time = join(event, "in-time@example.org", sent_at=close - timedelta(seconds=2))
    # Counted from the proxy's stamp (milliseconds).
    assert abs(in_time.joined_at - (close - timedelta(seconds=2))) < timedelta(
        milliseconds=1
    )
    assert late.joined_at >= close

    # The worker waits for stragglers before it draws.
    assert services.tick(now=close + timedelta(seconds=10)) == {}
    release.refresh_from_db()
    assert release.drawn_at is None
    done = services.tick(now=close + timedelta(seconds=16))
    assert done[release.pk]["drew"] is True
    in_time.refresh_from_db()
    late.refresh_from_db()
    # Drawn inside the window (the only one), the one sent after it behind.
    assert (in_time.rank, late.rank) == (1, 2)


def test_a_straggler_taken_after_the_draw_queues_behind(behind_proxy):
    event, _, release = closed_seconds_ago(20)
    close = release.window_closes_at
    first = join(event, "first@example.org", sent_at=close - timedelta(seconds=30))
    assert services.draw(release.pk, now=close + timedelta(seconds=16))
    straggler = join(event, "slow@example.org", sent_at=close - timedelta(seconds=1))
    assert straggler.rank is None
    services.admit(release.pk, now=close + timedelta(seconds=17))
    first.refresh_from_db()
    straggler.refresh_from_db()
    assert (first.rank, straggler.rank) == (1, 2)


def test_a_stamp_is_believed_only_from_a_trusted_proxy_and_not_too_far_back(
    settings,
):
    settings.RELEASE_ARRIVAL_GRACE_SECONDS = 15
    now = datetime(2027, 1, 5, 18, 0, tzinfo=UTC)

    def at(stamp, proxies=1):
        settings.TRUSTED_PROXY_COUNT = proxies
        request = RequestFactory().post("/", HTTP_X_REQUEST_START=stamp)
        return arrived_at(request, now=now)

    assert at(ms(now - timedelta(seconds=14))) == now - timedelta(seconds=14)
    # No proxy: the client's own header means nothing.
    assert at(ms(now - timedelta(seconds=14)), proxies=0) == now
    # Further back than the grace, or from the future: the shop's own clock.
    assert at(ms(now - timedelta(seconds=16))) == now
    assert at(ms(now + timedelta(seconds=5))) == now
    # Within the clocks' skew: never later than now.
    assert at(ms(now + timedelta(milliseconds=500))) == now
    for garbage in ("", "t=1", "-5", "1e12", "9" * 30):
        assert at(garbage) == now


def test_without_a_proxy_a_forged_stamp_cannot_move_a_join_into_the_window(
    settings,
):
    settings.TRUSTED_PROXY_COUNT = 0
    event, _, release = closed_seconds_ago(5)
    close = release.window_closes_at
    forged = join(event, "forger@example.org", sent_at=close - timedelta(seconds=3))
    assert forged.joined_at >= close


def test_stragglers_ranked_after_the_draw_leave_the_published_draw_checkable(
    behind_proxy,
):
    """Entries sent inside the window but taken after the draw queue behind;
    the published draw lists only what the draw ranked, so the recipe still
    recomputes it."""
    from ticketshop.release.management.commands.verify_draw import check

    event, _, release = closed_seconds_ago(3)
    close = release.window_closes_at
    drawn = [
        join(event, f"in{i}@example.org", sent_at=close - timedelta(seconds=10 - i))
        for i in range(8)
    ]
    assert services.draw(release.pk, now=close + timedelta(seconds=16))
    stragglers = [
        join(event, f"slow{i}@example.org", sent_at=close - timedelta(seconds=1))
        for i in range(8)
    ]
    services.tick(now=close + timedelta(seconds=17))
    published = Client().get(f"/api/queue/draw/?chapter_event={event.pk}").json()
    assert sorted(published["entries"]) == sorted(e.public_id for e in drawn)
    assert check(published) == []
    for entry in stragglers:
        entry.refresh_from_db()
    # Behind the drawn ones, in arrival order.
    assert [e.rank for e in stragglers] == list(range(9, 17))


@pytest.mark.parametrize(
    ("language", "in_draw", "not_in_draw"),
    [
        ("en", "it is in the published draw", "It is not in the published draw"),
        ("sv", "det finns i den publicerade dragningen", "Den finns inte i den"),
    ],
)
def test_the_queue_page_says_whether_the_entry_is_in_the_published_draw(
    behind_proxy, language, in_draw, not_in_draw
):
    """A drawn entry's page says its id is in the published draw; a
    straggler's (taken after the draw, placed behind) says it is not."""
    event, _, release = closed_seconds_ago(3)
    close = release.window_closes_at
    drawn, slow = Client(), Client()
    for client in (drawn, slow):
        client.cookies["django_language"] = language
    drawn.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": "in@example.org", "tickets": 1},
        content_type="application/json",
        HTTP_X_REQUEST_START=ms(close - timedelta(seconds=5)),
    )
    assert services.draw(release.pk, now=close + timedelta(seconds=16))
    slow.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": "slow@example.org", "tickets": 1},
        content_type="application/json",
        HTTP_X_REQUEST_START=ms(close - timedelta(seconds=1)),
    )
    services.tick(now=close + timedelta(seconds=17))

    page = drawn.get(f"/queue/{event.pk}/").content.decode()
    assert in_draw in page and not_in_draw not in page
    page = slow.get(f"/queue/{event.pk}/").content.decode()
    assert not_in_draw in page and in_draw not in page
