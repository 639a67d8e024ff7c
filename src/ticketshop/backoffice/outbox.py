"""The back office's outbox: e-mails to buyers, each sent exactly once.

A row (``OutgoingMail``) per e-mail, created with its task in one
transaction; a mailing's rows are unique per (mailing, recipient), so a
buyer is written to once however the mailing is started. The task:

1. locks the row, re-checks ``sent_at`` and claims it (short transaction);
2. sends with no transaction open;
3. records the outcome; a failure enqueues its retry in that transaction.

A task that runs twice finds the row sent (or claimed) and stops. A worker
killed mid-send leaves its task RUNNING; ``requeue_stalled_mail`` (run at
worker start) enqueues again the rows whose claim lapsed unsent.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .machines import OUTGOING_MAIL
from .models import Mailing, MailStatus, OutgoingMail

logger = logging.getLogger(__name__)

CLAIM_DURATION = timedelta(minutes=10)
MAX_ATTEMPTS = 8


def _enqueue(mail_id: int, run_after: datetime | None = None) -> None:
    from .tasks import send_outgoing_mail

    task = send_outgoing_mail
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(mail_id)


def queue_mail(*, key: str, recipient: str, subject: str, body: str, order=None):
    """Add one e-mail to the outbox (inside the caller's transaction)."""
    if not connection.in_atomic_block:
        raise RuntimeError("queue_mail() must run inside a transaction")
    mail, created = OutgoingMail.objects.get_or_create(
        key=key,
        defaults={
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "order": order,
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        OUTGOING_MAIL.check("queue", None)
        OUTGOING_MAIL.save(mail, "queue", created=True)
        _enqueue(mail.pk)
    return mail


def queue_mailing(*, mailing: Mailing, recipients: list[str]) -> int:
    """One outbox row and task per recipient not yet in the mailing; return
    how many were added."""
    if not connection.in_atomic_block:
        raise RuntimeError("queue_mailing() must run inside a transaction")
    now = timezone.now()
    known = set(mailing.mails.values_list("pk", flat=True))
    OutgoingMail.objects.bulk_create(
        [
            OutgoingMail(
                key=f"mailing:{mailing.pk}:{address}",
                mailing=mailing,
                recipient=address,
                subject=mailing.subject,
                body=mailing.body,
                next_attempt_at=now,
            )
            for address in recipients
        ],
        ignore_conflicts=True,
    )
    # The unique (mailing, recipient) skipped who is in already; only the
    # new rows get a task.
    new = [pk for pk in mailing.mails.values_list("pk", flat=True) if pk not in known]
    OUTGOING_MAIL.check("queue", None)
    OUTGOING_MAIL.record_many([(pk, "", MailStatus.PENDING) for pk in new], "queue")
    for pk in new:
        _enqueue(pk)
    return len(new)


def _claim(mail_id: int, token: str, now: datetime) -> OutgoingMail | None:
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.sent_at is not None:
            return None
        if mail.status == MailStatus.GAVE_UP:
            return None
        if mail.claimed_until is not None and mail.claimed_until > now:
            # Another worker is sending; look again when its claim lapses.
            _enqueue(mail.pk, run_after=mail.claimed_until)
            return None
        mail.claim_token = token
        mail.claimed_until = now + CLAIM_DURATION
        mail.attempts += 1
        mail.save(update_fields=["claim_token", "claimed_until", "attempts"])
        return mail


def send_mail(*, mail_id: int, now: datetime | None = None) -> str:
    """Send one outbox e-mail unless it is sent or being sent."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    mail = _claim(mail_id, token, now)
    if mail is None:
        return "skipped"
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        to=[mail.recipient],
        reply_to=[settings.DELIVERY_SUPPORT_EMAIL]
        if settings.DELIVERY_SUPPORT_EMAIL
        else None,
        headers={"Auto-Submitted": "auto-generated", "X-Outbox-Id": mail.key},
    )
    try:
        message.send()
    except Exception as error:
        with transaction.atomic():
            row = OutgoingMail.objects.select_for_update().get(pk=mail_id)
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            row.claimed_until = None
            row.claim_token = ""
            outcome = "give_up" if row.attempts >= MAX_ATTEMPTS else "fail"
            OUTGOING_MAIL.check(outcome, row)
            if outcome == "give_up":
                row.next_attempt_at = None
            else:
                delay = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** (row.attempts - 1)
                row.next_attempt_at = now + timedelta(
                    seconds=min(delay, settings.DELIVERY_RETRY_MAX_SECONDS)
                )
                _enqueue(row.pk, run_after=row.next_attempt_at)
            OUTGOING_MAIL.save(
                row,
                outcome,
                ["last_error", "claimed_until", "claim_token", "next_attempt_at"],
            )
        logger.warning("outbox mail %s failed: %s", mail.key, error)
        raise
    with transaction.atomic():
        row = OutgoingMail.objects.select_for_update().get(pk=mail_id)
        OUTGOING_MAIL.check("send", row)
        row.sent_at = timezone.now()
        row.next_attempt_at = None
        row.claimed_until = None
        row.claim_token = ""
        OUTGOING_MAIL.save(
            row, "send", ["sent_at", "next_attempt_at", "claimed_until", "claim_token"]
        )
    logger.info("outbox mail %s sent", mail.key)
    return "sent"


def requeue_stalled_mail(*, now: datetime | None = None) -> int:
    """Enqueue again the unsent rows that no queued task will send: their
    task was lost (a worker killed mid-task, or stopped between taking a
    task and starting it, leaves it RUNNING for good). A row still claimed
    by a worker is left until its claim lapses (it may have been sent).
    A second task for a row is harmless: the claim and ``sent_at`` keep the
    e-mail single. Run at worker start (`make run` does) or from cron."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    queued = {
        (args_kwargs.get("args") or [None])[0]
        for args_kwargs in DBTaskResult.objects.filter(
            status="READY", task_path__endswith=".send_outgoing_mail"
        ).values_list("args_kwargs", flat=True)
    }
    with transaction.atomic():
        stalled = [
            mail
            for mail in OutgoingMail.objects.select_for_update()
            .filter(
                sent_at__isnull=True,
                status__in=[MailStatus.PENDING, MailStatus.FAILED],
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            if mail.pk not in queued
        ]
        for mail in stalled:
            mail.next_attempt_at = now
            mail.save(update_fields=["next_attempt_at"])
            _enqueue(mail.pk)
    if stalled:
        logger.warning("re-enqueued %d stalled outbox e-mails", len(stalled))
    return len(stalled)
