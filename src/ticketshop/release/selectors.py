"""What the buyer sees of their place: read only, never a write.

``status`` answers from the entry's rank and the release's shared
``admitted_up_to`` mark (both read in one query with the entry), so a poll
costs one indexed read and writes nothing (tests/release counts).
"""

import random
from datetime import datetime

from django.utils import timezone

from .models import Entry

# The page and API clients poll at a random interval in this range (seconds),
# so that thousands of waiting browsers do not ask in step.
POLL_SECONDS = (4, 9)


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
        "poll_after_seconds": random.randint(*POLL_SECONDS),  # noqa: S311
    }


def estimated_wait(release, ahead: int, now: datetime) -> int | None:
    """Seconds until ``ahead`` more entries are admitted, at the pace of the
    admissions so far; None before the first admission."""
    start = release.drawn_at
    if start is None or release.admitted_up_to <= 0 or release.paused:
        return None
    elapsed = max((now - start).total_seconds(), 1.0)
    per_second = release.admitted_up_to / elapsed
    return int(ahead / per_second) if per_second > 0 else None
