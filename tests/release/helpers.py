"""A queued event for the release tests."""

from datetime import timedelta

from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.release.models import Release, SaleMode


def queued_event(*, seats=10, window=timedelta(minutes=2), start=None, **release):
    """An event in random-window mode whose queue is open now and whose
    window closes a minute from now (``window`` after the sale opens)."""
    start = start or timezone.now()
    event, types = event_with_types(seats=seats, prices=("100",))
    opens = start + timedelta(minutes=1) - window
    release = Release.objects.create(
        event=event,
        mode=SaleMode.RANDOM_WINDOW,
        queue_opens_at=opens - timedelta(hours=1),
        sale_opens_at=opens,
        window_closes_at=start + timedelta(minutes=1),
        **release,
    )
    return event, types[0], release
