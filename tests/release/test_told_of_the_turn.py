"""The time to reserve counts from when the buyer is first told of the turn
(the status answer or the queue page), not from the admission: a slow
answer or a browser that asked late does not eat the turn. A buyer who
never looks still lapses on time. Over HTTP."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry

pytestmark = pytest.mark.django_db


def joined(event, email):
    client = Client()
    response = client.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": email, "tickets": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return client


def status(client, event):
    response = client.get(f"/api/queue/status/?chapter_event={event.pk}")
    assert response.status_code == 200
    return response.json()


def admitted_seconds_ago(seconds, **release_fields):
    """Two buyers admitted ``seconds`` ago, with 120 s to reserve."""
    now = timezone.now()
    event, _, release = queued_event(
        admit_seconds=120, start=now - timedelta(minutes=10), **release_fields
    )
    # Joined inside the window (closed 9 minutes ago), their addresses
    # confirmed.
    clients = [joined(event, f"b{n}@example.org") for n in range(2)]
    Entry.objects.update(
        joined_at=release.window_closes_at - timedelta(seconds=1),
        email_confirmed_at=release.window_closes_at,
    )
    then = now - timedelta(seconds=seconds)
    services.draw(release.pk, now=then)
    services.admit(release.pk, now=then)
    assert Entry.objects.filter(state="admitted").count() == 2
    return event, release, clients, then


def test_the_time_to_reserve_counts_from_the_first_answer_that_tells_it():
    event, release, (told, silent), then = admitted_seconds_ago(100)
    before = timezone.now()
    body = status(told, event)
    assert body["may_reserve"] is True
    until = parse_datetime(body["admission_expires_at"])
    # 120 s from now, not the 20 s left since the admission.
    assert (
        before + timedelta(seconds=119)
        <= until
        <= timezone.now() + timedelta(seconds=120)
    )
    # Told once: later answers do not move it.
    assert parse_datetime(status(told, event)["admission_expires_at"]) == until
    entry = Entry.objects.get(email="b0@example.org")
    assert entry.told_at is not None and entry.admission_expires_at == until

    # The buyer who never looked lapses 120 s after the admission, as before;
    # the told one is still admitted then.
    done = services.admit(release.pk, now=then + timedelta(seconds=121))
    assert done["lapsed"] + done["passed"] == 1
    assert Entry.objects.get(email="b1@example.org").state in ("lapsed", "passed")
    assert Entry.objects.get(email="b0@example.org").state == "admitted"
    assert status(silent, event)["may_reserve"] is False


def test_the_queue_page_tells_it_too():
    event, _, (client, _), _ = admitted_seconds_ago(100)
    before = timezone.now()
    page = client.get(f"/queue/{event.pk}/")
    assert page.status_code == 200
    entry = Entry.objects.get(email="b0@example.org")
    assert entry.told_at is not None
    assert entry.admission_expires_at >= before + timedelta(seconds=119)


def test_a_turn_already_over_is_not_given_back():
    event, _, (client, _), then = admitted_seconds_ago(130)
    body = status(client, event)
    assert body["may_reserve"] is False
    entry = Entry.objects.get(email="b0@example.org")
    assert entry.told_at is None
    assert entry.admission_expires_at == then + timedelta(seconds=120)


def test_a_ballot_admission_keeps_its_time():
    # A window of a day is a ballot: the admission is told by e-mail.
    event, _, (client, _), then = admitted_seconds_ago(100, window=timedelta(days=1))
    assert Entry.objects.first().release.is_ballot
    status(client, event)
    entry = Entry.objects.get(email="b0@example.org")
    assert entry.told_at is None
    assert entry.admission_expires_at == then + timedelta(seconds=120)
