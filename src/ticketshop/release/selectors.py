"""What the buyer sees of their place: read only, never a write.

``status`` answers from the entry's rank and the release's shared
``admitted_up_to`` mark (both read in one query with the entry), so a poll
costs one indexed read and writes nothing (tests/release counts).
"""

import hashlib
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import Entry

# The page and API clients poll at a random interval (seconds), so that
# thousands of waiting browsers do not ask in step, and the further back in
# the queue the longer: about a fifth of the estimated wait, at least
# POLL_NEAR (3-5 s near the front and after the admission) and at most
# POLL_FAR (about 50-60 s far back); for an entry that could be admitted at
# the next round (fewer people ahead than may check out at once) never more
# than a quarter of the time to reserve. Further back a whole round of
# buyers is ahead, so the turn cannot come sooner than the estimated wait
# shows: such entries ask up to POLL_FAR apart even when the time to
# reserve is short, which halves the polls of a big queue after the draw.
# Before the draw: about a minute apart until the entry's own moment after
# the draw is due is at most 2 * POLL_FAR away, then once at that moment
# (nobody is admitted before the draw, so nothing can change sooner). The
# moment is POLL_NEAR to POLL_FAR seconds after the draw is due (at most
# half the time to reserve), fixed by the entry's public id, so a queue's
# first answers after the draw are spread evenly over that time. (A random
# delay drawn at each answer and capped at POLL_FAR from it bunched half of
# them into the first 15 s after the draw, with the admitted buyers'
# checkouts.) Hearing of the turn later costs the buyer nothing: the time to
# reserve counts from the first answer that tells of it (services.told), and
# the turn's e-mail tells of it too.
POLL_NEAR = 4
POLL_FAR = 60
POLL_JITTER = 0.2
# Seconds of the estimated wait per second between polls.
POLL_WAIT_SHARE = 5
# Before the first admission (no pace yet): seconds between polls per
# person ahead.
POLL_SECONDS_PER_PERSON = 0.1


def status(entry: Entry, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    release = entry.release
    ahead = None
    wait = None
    if entry.rank is not None and entry.state == "waiting":
        ahead = max(0, entry.rank - release.admitted_up_to - 1)
        wait = estimated_wait(release, ahead, now)
    admitted = entry.state == "admitted" and (
        entry.admission_expires_at is not None and entry.admission_expires_at > now
    )
    return {
        "chapter_event": release.event_id,
        "public_id": entry.public_id,
        "state": entry.state,
        "place": entry.rank,
        "people_ahead": ahead,
        "estimated_wait_seconds": wait,
        "tickets_wanted": entry.tickets_wanted,
        "email_confirmed": entry.email_confirmed_at is not None,
        "may_reserve": admitted,
        "admission_expires_at": entry.admission_expires_at if admitted else None,
        "drawn": release.drawn_at is not None,
        "window_closes_at": release.window_closes_at,
        "paused": release.paused,
        "poll_after_seconds": poll_after(entry, ahead, wait, now),
    }


def poll_after(entry: Entry, ahead: int | None, wait: int | None, now) -> int:
    """Seconds until the next poll: random, and growing with the wait."""
    release = entry.release
    far = max(POLL_NEAR + 1, min(POLL_FAR, release.admit_seconds // 4))
    cap = far
    if entry.state == "waiting" and ahead is not None:
        if wait is not None:
            target = wait / POLL_WAIT_SHARE
        else:
            target = ahead * POLL_SECONDS_PER_PERSON
        if ahead >= release.max_checking_out:
            cap = POLL_FAR
    elif (
        entry.state == "waiting"
        and release.window_closes_at is not None
        and release.drawn_at is None
    ):
        # Before the draw nobody's turn can come, so nothing is worth asking
        # until it is due: then each asks at its own moment after it, so
        # that thousands of waiting browsers do not all ask at the draw (nor
        # ever more often as it nears).
        moment = draw_due(release) + timedelta(seconds=draw_offset(entry))
        left = (moment - now).total_seconds()
        if left <= 0:
            target = POLL_NEAR  # its moment came and the worker has not drawn
        elif left <= 2 * POLL_FAR:
            # One answer, at the moment: nothing can change before it.
            return max(POLL_NEAR - 1, round(left))
        else:
            target, cap = POLL_FAR, POLL_FAR
    elif entry.state in ("admitted", "reserved") or entry.state == "waiting":
        # Admitted, or joined after the draw and placed at the worker's next
        # round.
        target = POLL_NEAR
    else:
        # On the waiting list (offers come by e-mail), or over.
        target = far
    target = min(max(target, POLL_NEAR), cap)
    low = max(POLL_NEAR - 1, round(target * (1 - POLL_JITTER)))
    high = min(cap, round(target * (1 + POLL_JITTER)))
    return random.randint(low, max(low, high))  # noqa: S311


def draw_offset(entry: Entry) -> int:
    """Seconds after the draw is due when this entry first asks: from
    POLL_NEAR to POLL_FAR (at most half the time to reserve), the same at
    every answer, uniform over a queue's entries (their public ids are
    random)."""
    longest = max(POLL_NEAR, min(POLL_FAR, entry.release.admit_seconds // 2))
    digest = hashlib.sha256(entry.public_id.encode()).digest()
    return POLL_NEAR + int.from_bytes(digest[:4], "big") % (longest - POLL_NEAR + 1)


def draw_due(release) -> datetime:
    """When the worker draws: RELEASE_ARRIVAL_GRACE_SECONDS after the window
    closes (joins still on their way get in), at its next round."""
    return release.window_closes_at + timedelta(
        seconds=settings.RELEASE_ARRIVAL_GRACE_SECONDS + settings.RELEASE_TICK_SECONDS
    )


def estimated_wait(release, ahead: int, now: datetime) -> int | None:
    """Seconds until ``ahead`` more entries are admitted, at the pace of the
    admissions so far; None before the first admission."""
    start = release.drawn_at
    if start is None or release.admitted_up_to <= 0 or release.paused:
        return None
    elapsed = max((now - start).total_seconds(), 1.0)
    per_second = release.admitted_up_to / elapsed
    return int(ahead / per_second) if per_second > 0 else None


def drawn_entries(release):
    """The entries the release's draw placed (what the published draw
    lists): ranked, up to ``drawn_up_to``; for a release drawn before that
    bound was kept, those that joined inside the window."""
    drawn = Entry.objects.filter(release=release, rank__isnull=False)
    if release.drawn_up_to is not None:
        return drawn.filter(rank__lte=release.drawn_up_to)
    return drawn.filter(joined_at__lt=release.window_closes_at)


def in_published_draw(entry: Entry, release) -> bool:
    """Whether the entry is (or, before the draw, will be) in the published
    draw (``drawn_entries``). An entry that joined after the window closed,
    or was taken after the draw (a straggler), queues behind the drawn ones
    in arrival order and is not part of the draw."""
    if release.drawn_at is None:
        closes = release.window_closes_at
        return closes is None or entry.joined_at < closes
    return drawn_entries(release).filter(pk=entry.pk).exists()
