"""An admitted buyer's confirmation e-mail does not wait behind the rush.

On a release night every join queues a confirmation e-mail, thousands of
them, and an admitted buyer must confirm before paying. An entry admitted
while its join's e-mail is still queued gets that e-mail at once, ahead of
the others; it is sent once, whichever of the two tasks runs first."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.delivery.conftest import run_worker
from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry

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


def test_an_admitted_entry_is_mailed_first_and_once():
    event, _, release = queued_event(seats=2, max_checking_out=2)
    for n in range(12):
        join(event, f"buyer{n}@example.org")
    assert DBTaskResult.objects.count() == 12  # one confirmation per join, queued
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    admitted = list(Entry.objects.filter(state="admitted"))
    assert len(admitted) == 2
    # Two more tasks, ahead of the twelve.
    assert DBTaskResult.objects.count() == 14
    run_worker(max_tasks=2)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.email for e in admitted)

    run_worker()
    # Everyone has one confirmation e-mail; the admitted ones too, not two.
    for n in range(12):
        assert len(confirmations_to(f"buyer{n}@example.org")) == 1
    assert len(mail.outbox) == 12
    assert Entry.objects.filter(confirm_mailed_at__isnull=True).count() == 0


def test_an_entry_whose_e_mail_went_out_is_not_mailed_again_on_admission():
    event, _, release = queued_event(seats=2, max_checking_out=2)
    join(event, "early@example.org")
    run_worker()
    assert len(confirmations_to("early@example.org")) == 1
    now = release.window_closes_at + timedelta(seconds=1)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    assert Entry.objects.get().state == "admitted"
    assert DBTaskResult.objects.count() == 1  # nothing queued on admission
    run_worker()
    assert len(mail.outbox) == 1


def test_a_failed_send_can_be_sent_again(monkeypatch):
    from ticketshop.release import mails

    event, _, release = queued_event(seats=2)
    join(event, "ada@example.org")
    entry = Entry.objects.get()

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
