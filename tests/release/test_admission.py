"""Admission rounds: bounded by seats, the overbooking factor and buyers
checking out; lapses pass the turn on; pauses hold it; a sold-out event's
queue becomes its waiting list in order; a ballot counts confirmed entries;
one worker per period runs the round."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.release.helpers import queued_event
from ticketshop.ops import upkeep
from ticketshop.orders.services import TicketLine, reserve_tickets
from ticketshop.release import mails, services
from ticketshop.release.models import Entry, Release

pytestmark = pytest.mark.django_db


def fill(event, wanted, *, confirmed=True, start=None):
    start = start or timezone.now()
    entries = []
    for n, tickets in enumerate(wanted):
        entry = services.join(
            event_id=event.pk,
            session_token=f"s{n}",
            email=f"b{n}@example.org",
            tickets_wanted=tickets,
            now=start,
        )
        if confirmed:
            services.confirm(token=entry.confirm_token)
        entries.append(entry)
    return entries


def by_rank():
    return list(Entry.objects.order_by("rank"))


def states():
    return [e.state for e in by_rank()]


def test_admits_in_order_within_seats_and_checkout_limit():
    event, _, release = queued_event(seats=5, max_checking_out=10)
    fill(event, [2, 2, 2, 2])
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    # 2 + 2 fit in 5 seats; the third (2 more) would not.
    assert states() == ["admitted", "admitted", "waiting", "waiting"]
    assert Release.objects.get().admitted_up_to == 2


def test_the_overbooking_factor_and_the_checkout_limit():
    event, _, release = queued_event(
        seats=4, overbook_factor="1.50", max_checking_out=10
    )
    fill(event, [2, 2, 2, 2])
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    assert states().count("admitted") == 3  # 6 <= 4 x 1.5
    Entry.objects.all().delete()
    Release.objects.filter(pk=release.pk).update(
        drawn_at=None, max_checking_out=1, admitted_up_to=0
    )
    fill(event, [1, 1, 1])
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    assert states().count("admitted") == 1


def test_a_lapsed_turn_passes_to_the_next_confirmed_or_not():
    # The time to reserve ran out: it lapses, confirmed or not (reserving
    # needs no confirmed address; an unconfirmed hold passes: see
    # test_confirm_before_paying).
    event, _, release = queued_event(seats=1, admit_seconds=60)
    entries = fill(event, [1, 1, 1], confirmed=False)
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    first = by_rank()[0]
    assert first.state == "admitted"
    services.admit(release.pk, now=now + timedelta(seconds=61))
    assert states() == ["lapsed", "admitted", "waiting"]
    services.confirm(token=by_rank()[1].confirm_token)
    services.admit(release.pk, now=now + timedelta(seconds=122))
    assert states() == ["lapsed", "lapsed", "admitted"]
    assert len(entries) == 3


def test_paused_admits_nobody():
    event, _, release = queued_event(seats=3, paused=True)
    fill(event, [1, 1])
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    assert states() == ["waiting", "waiting"]
    Release.objects.filter(pk=release.pk).update(paused=False)
    services.admit(release.pk, now=now)
    assert states() == ["admitted", "admitted"]


def test_sold_out_the_rest_of_the_queue_becomes_the_waiting_list_in_order():
    event, ticket_type, release = queued_event(seats=2)
    fill(event, [2, 2, 2, 2])
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    first = by_rank()[0]
    assert first.state == "admitted"
    entry = services.admission_for(
        event_id=event.pk, session_token=f"s{first.email[1]}", tickets=2, now=now
    )
    order = reserve_tickets(
        event_id=event.pk,
        lines=[TicketLine(ticket_type_id=ticket_type.pk, count=2)],
        now=now,
    )
    services.record_reservation(entry, order)
    from django.db import transaction

    from ticketshop.orders import lifecycle

    with transaction.atomic():
        locked = lifecycle.lock_order(order.pk)
        lifecycle.pay(locked, reference="R", paid_at=now, now=now)
    services.admit(release.pk, now=now)
    assert states() == [
        "paid",
        "sold_out_waiting",
        "sold_out_waiting",
        "sold_out_waiting",
    ]
    assert Release.objects.get().sold_out_at is not None
    # Later arrivals join the waiting list at its back.
    late = services.join(
        event_id=event.pk,
        session_token="late",
        email="late@example.org",
        tickets_wanted=1,
        now=now + timedelta(minutes=1),
    )
    # Its place comes with the worker's next round, in arrival order.
    assert late.state == "sold_out_waiting" and late.rank is None
    services.admit(release.pk, now=now + timedelta(minutes=1))
    late.refresh_from_db()
    assert late.state == "sold_out_waiting" and late.rank == 5


def test_a_ballot_counts_only_confirmed_entries_and_mails_the_admitted(mailoutbox):
    start = timezone.now()
    event, _, release = queued_event(seats=10, window=timedelta(days=3), start=start)
    assert release.is_ballot
    fill(event, [1, 1], confirmed=True, start=start)
    services.join(
        event_id=event.pk,
        session_token="lazy",
        email="lazy@example.org",
        tickets_wanted=1,
        now=start,
    )
    now = release.window_closes_at
    services.draw(release.pk, now=now)
    ranked = Entry.objects.filter(rank__isnull=False)
    assert sorted(ranked.values_list("state", flat=True)) == ["waiting", "waiting"]
    assert Entry.objects.get(email="lazy@example.org").state == "passed"
    services.admit(release.pk, now=now)
    admitted = Entry.objects.filter(state="admitted")
    assert admitted.count() == 2
    for entry in admitted:
        mails.send_entry_mail(entry.pk, "admitted")
    assert len(mailoutbox) == 2
    assert f"/queue/admitted/{admitted[0].confirm_token}/" in mailoutbox[0].body


def test_one_worker_per_period_runs_the_round(settings):
    settings.RELEASE_TICK_SECONDS = 60
    event, _, release = queued_event(seats=3)
    fill(event, [1])
    # Closed longer ago than the stragglers' grace: due for its draw.
    Release.objects.filter(pk=release.pk).update(
        window_closes_at=timezone.now()
        - timedelta(seconds=settings.RELEASE_ARRIVAL_GRACE_SECONDS + 1)
    )
    first = upkeep.release_tick(worker_id="a")
    second = upkeep.release_tick(worker_id="b")
    assert first == {
        release.pk: {
            "drew": True,
            "admitted": 1,
            "lapsed": 0,
            "passed": 0,
            "paid": 0,
            "sold_out": 0,
        }
    }
    assert second == {}
    assert states() == ["admitted"]
