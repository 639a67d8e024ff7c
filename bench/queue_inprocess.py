"""The fair release's in-process benchmarks' common set-up
(queue_status_inprocess.py, queue_join_inprocess.py): Django on a fresh
SQLite database (or the empty PostgreSQL database of DATABASE_URL), and one
queued event of 300 seats whose queue opened an hour ago and whose sale
opened two minutes ago.

    from queue_inprocess import queued_event
    event, release, now = queued_event(window_closes_in=..., max_checking_out=...)
"""

from datetime import timedelta

from benchlib import bench_event, setup_django_in_process

setup_django_in_process()


def queued_event(*, window_closes_in: timedelta, max_checking_out: int):
    """Migrate, then create the event and its random-window release; return
    (event, release, now)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from ticketshop.release.models import Release, SaleMode

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    now = timezone.now()
    event = bench_event(now, seats=300)
    release = Release.objects.create(
        event=event,
        mode=SaleMode.RANDOM_WINDOW,
        queue_opens_at=now - timedelta(hours=1),
        sale_opens_at=now - timedelta(minutes=2),
        window_closes_at=now + window_closes_in,
        max_checking_out=max_checking_out,
        overbook_factor=2,
    )
    return event, release, now
