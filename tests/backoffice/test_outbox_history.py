"""Each change of an outbox e-mail's state writes one history row; a refused
change writes none (the ``outgoing_mail`` machine)."""

import pytest
from django.core import mail as django_mail
from django.db import transaction

from ticketshop.backoffice import outbox
from ticketshop.backoffice.machines import OUTGOING_MAIL
from ticketshop.backoffice.models import Mailing, MailStatus, OutgoingMail
from ticketshop.statemachine.machine import TransitionNotAllowed
from ticketshop.statemachine.models import StateChange

pytestmark = pytest.mark.django_db(transaction=True)


def history(mail):
    return [
        (r.transition, r.from_state, r.to_state) for r in OUTGOING_MAIL.history(mail.pk)
    ]


def queued(key="cancel:1:1"):
    with transaction.atomic():
        return outbox.queue_mail(
            key=key, recipient="kund@example.org", subject="S", body="B"
        )


def smtp_refuses(monkeypatch):
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr(django_mail.EmailMessage, "send", refuse)


def test_queued_then_sent_writes_two_rows(mailoutbox):
    mail = queued()
    assert history(mail) == [("queue", "", "PENDING")]
    assert outbox.send_mail(mail_id=mail.pk) == "sent"
    assert history(mail) == [("queue", "", "PENDING"), ("send", "PENDING", "SENT")]
    # A second task finds it sent: no change, no row.
    assert outbox.send_mail(mail_id=mail.pk) == "skipped"
    assert len(history(mail)) == 2


def test_a_failed_send_then_giving_up(monkeypatch):
    mail = queued()
    smtp_refuses(monkeypatch)
    with pytest.raises(ConnectionRefusedError):
        outbox.send_mail(mail_id=mail.pk)
    OutgoingMail.objects.filter(pk=mail.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    with pytest.raises(ConnectionRefusedError):
        outbox.send_mail(mail_id=mail.pk)
    assert history(mail) == [
        ("queue", "", "PENDING"),
        ("fail", "PENDING", "FAILED"),
        ("give_up", "FAILED", "GAVE_UP"),
    ]
    # Given up: a task left over sends nothing and writes nothing.
    assert outbox.send_mail(mail_id=mail.pk) == "skipped"
    assert len(history(mail)) == 3


def test_a_mailing_writes_one_row_per_new_recipient():
    mailing = Mailing.objects.create(subject="S", body="B", created_by="kim")
    with transaction.atomic():
        assert (
            outbox.queue_mailing(
                mailing=mailing, recipients=["a@example.org", "b@example.org"]
            )
            == 2
        )
    with transaction.atomic():
        assert (
            outbox.queue_mailing(
                mailing=mailing, recipients=["b@example.org", "c@example.org"]
            )
            == 1
        )
    rows = StateChange.objects.filter(machine="outgoing_mail")
    assert sorted(rows.values_list("record_id", flat=True)) == sorted(
        mailing.mails.values_list("pk", flat=True)
    )
    assert set(rows.values_list("transition", "from_state", "to_state")) == {
        ("queue", "", "PENDING")
    }


def test_queueing_the_same_key_again_writes_nothing():
    mail = queued()
    again = queued()
    assert again.pk == mail.pk
    assert len(history(mail)) == 1


def test_a_refused_transition_raises_and_writes_no_row():
    mail = queued()
    before = StateChange.objects.count()
    with pytest.raises(TransitionNotAllowed), transaction.atomic():
        OUTGOING_MAIL.check("queue", OutgoingMail.objects.get(pk=mail.pk))
    assert StateChange.objects.count() == before
    assert OutgoingMail.objects.get(pk=mail.pk).status == MailStatus.PENDING


def test_the_worker_names_itself_in_the_history(mailoutbox):
    from tests.delivery.conftest import run_worker

    mail = queued()
    run_worker()
    rows = list(OUTGOING_MAIL.history(mail.pk))
    assert [(r.transition, r.actor) for r in rows] == [
        ("queue", "process"),
        ("send", "worker"),
    ]
