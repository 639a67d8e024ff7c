"""When the confirmation link is e-mailed, and that it is sent once.

In a window of minutes the link goes when the turn comes (the admission),
ahead of the other e-mails: a rush of thousands of joins writes no e-mail,
and only the admitted, who must confirm before paying, are asked to. A
ballot (a window of days) draws only confirmed entries, so its link goes
at the join. Each entry's link is sent once, whichever task runs first."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.delivery.conftest import run_worker
from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry
from ticketshop.release.services import ADMITTED_MAIL_PRIORITY

pytestmark = pytest.mark.django_db(transaction=True)


def join(event, email):
    response = Client().post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": email, "tickets": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def confirmations_to(address):
    entry = Entry.objects.get(email=address)
    return [
        m for m in mail.outbox if m.to == [address] and entry.confirm_token in m.body
    ]


def test_joins_in_a_window_of_minutes_mail_nothing_until_the_turn_comes():
    event, _, release = queued_event(seats=2, max_checking_out=2)
    for n in range(12):
        join(event, f"buyer{n}@example.org")
    assert DBTaskResult.objects.count() == 0  # no e-mail per join
    status = Client().get(f"/queue/{event.pk}/")
    assert status.status_code == 200
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    admitted = list(Entry.objects.filter(state="admitted"))
    assert len(admitted) == 2
    # One confirmation per admitted entry, ahead of the other e-mails.
    tasks = list(DBTaskResult.objects.all())
    assert len(tasks) == 2
    assert {t.priority for t in tasks} == {ADMITTED_MAIL_PRIORITY}
    run_worker()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.email for e in admitted)
    for entry in admitted:
        (message,) = confirmations_to(entry.email)
        assert "It is your turn" in message.body or "din tur" in message.body
        assert f"/queue/confirm/{entry.confirm_token}/" in message.body
    # The next round admits nobody new: nothing more is sent.
    services.admit(release.pk, now=now + timedelta(seconds=2))
    run_worker()
    assert len(mail.outbox) == 2
    assert Entry.objects.filter(confirm_mailed_at__isnull=False).count() == 2


def test_the_admitted_link_confirms_and_the_payment_may_start():
    event, ticket_type, release = queued_event(seats=2, max_checking_out=2)
    buyer = Client()
    response = buyer.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": "ada@example.org", "tickets": 1},
        content_type="application/json",
    )
    assert response.status_code == 201
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    run_worker()
    (message,) = confirmations_to("ada@example.org")
    entry = Entry.objects.get()
    assert buyer.get(f"/queue/confirm/{entry.confirm_token}/").status_code == 200
    entry.refresh_from_db()
    assert entry.email_confirmed_at is not None
    status = buyer.get(f"/api/queue/status/?chapter_event={event.pk}").json()
    assert status["email_confirmed"] is True


def test_an_entry_whose_e_mail_went_out_is_not_mailed_again_on_admission():
    event, _, release = queued_event(seats=2, max_checking_out=2)
    join(event, "early@example.org")
    Entry.objects.update(confirm_mailed_at=release.sale_opens_at)
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    assert Entry.objects.get().state == "admitted"
    assert DBTaskResult.objects.count() == 0  # nothing queued on admission
    run_worker()
    assert len(mail.outbox) == 0


def test_a_ballot_mails_the_link_at_the_join_and_once():
    start = timezone.now()
    event, _, release = queued_event(seats=2, window=timedelta(days=3), start=start)
    assert release.is_ballot
    join(event, "ada@example.org")
    assert DBTaskResult.objects.count() == 1
    run_worker()
    (message,) = confirmations_to("ada@example.org")
    assert "joined the queue" in message.body or "ställt dig i kön" in message.body
    run_worker()
    assert len(mail.outbox) == 1


def test_a_failed_send_can_be_sent_again(monkeypatch):
    from ticketshop.release import mails

    event, _, release = queued_event(seats=2)
    join(event, "ada@example.org")
    entry = Entry.objects.get()  # no e-mail at the join: sent here by hand

    def broken(*args, **kwargs):
        raise OSError("the mail server is down")

    monkeypatch.setattr(mails, "send_mail", broken)
    with pytest.raises(OSError):
        mails.send_entry_mail(entry.pk, "confirm")
    entry.refresh_from_db()
    assert entry.confirm_mailed_at is None  # not claimed: it may be sent again
    monkeypatch.undo()
    assert mails.send_entry_mail(entry.pk, "confirm") == "confirm"
    assert mails.send_entry_mail(entry.pk, "confirm") == "sent already"
    assert len(confirmations_to("ada@example.org")) == 1
