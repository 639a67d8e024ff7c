"""Mass e-mail: a preview, one e-mail per buyer through the outbox, never
twice, even when the worker is restarted midway or dies mid-send."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.delivery.conftest import SmtpServer, reserve_port, run_worker
from tests.factories import reserve_tickets
from ticketshop.backoffice import outbox, services
from ticketshop.backoffice.models import AuditEntry, Mailing, MailStatus, OutgoingMail
from ticketshop.orders import lifecycle
from ticketshop.orders.models import PaymentMethod
from ticketshop.orders.services import TicketLine

from .conftest import previewed

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


class Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def buyers(event, ticket_type, n: int, *, prefix="kop") -> list[str]:
    """n paid orders with n addresses (issued, no ticket e-mail queued)."""
    emails = [f"{prefix}{i:03d}@example.org" for i in range(n)]
    with transaction.atomic():
        for email in emails:
            lifecycle.issue(
                event_id=event.pk,
                counts={ticket_type.pk: 1},
                prices={ticket_type.pk: 0},
                name=email,
                email=email,
                method=PaymentMethod.COMPLIMENTARY,
                allow_over_capacity=True,
            )
    return emails


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def _manage(args, *, port: int, tmp_path, **kwargs):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "TICKETSHOP_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp_path / "worker.log").open("ab")
    return subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **kwargs,
    )


def _wait(predicate, timeout: float, worker=None, log=None):
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker stopped: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None else ""
            raise AssertionError(f"not true within {timeout}s: {tail}")
        time.sleep(0.05)


def test_300_buyers_each_get_one_email_across_a_worker_restart(
    client, organiser, show, tmp_path
):
    event, (standard, _) = show
    emails = buyers(event, standard, 300)
    # The same buyer twice (another order, other case): still one e-mail.
    with transaction.atomic():
        lifecycle.issue(
            event_id=event.pk,
            counts={standard.pk: 1},
            prices={standard.pk: 0},
            name="again",
            email="KOP007@example.org",
            method=PaymentMethod.COMPLIMENTARY,
            allow_over_capacity=True,
        )
    # An unpaid hold is not a buyer.
    other = show[0].__class__.objects.create(
        title="Annan",
        event_at=timezone.now() + timedelta(days=3),
        sales_stop_at=timezone.now() + timedelta(days=2),
        seats=5,
    )
    other.offers.create(ticket_type=standard)
    unpaid = reserve_tickets(
        session=Session(), event_id=other.pk, lines=[TicketLine(standard.pk, 1)]
    )
    assert unpaid.email == ""

    client.force_login(organiser)
    url = reverse("admin:backoffice_mailing")
    form = {"event": [event.pk], "subject": "Ändrad tid", "body": "Vi börjar 19:30."}
    preview, confirmed = previewed(client, url, form)
    assert preview.status_code == 200
    assert "300" in preview.content.decode()
    assert not Mailing.objects.exists()
    sent = client.post(url, confirmed)
    assert sent.status_code == 302
    mailing = Mailing.objects.get()
    assert mailing.mails.count() == 300
    assert AuditEntry.objects.get(action="mailing").after["recipients"] == 300

    server = SmtpServer(reserve_port())
    server.start()
    worker = None
    try:
        worker = _manage(
            ["db_worker", "--queue-name", "*", "--interval", "0.1"]
            + ["--worker-id", STOPPED_WORKER],
            port=server.port,
            tmp_path=tmp_path,
        )
        log = tmp_path / "worker.log"
        _wait(
            lambda: len(server.inbox.messages) >= 60,
            timeout=240,
            worker=worker,
            log=log,
        )
        # Restarted midway: stopped as a service manager stops it.
        worker.send_signal(signal.SIGTERM)
        # It stops; its exit code is not asked: django-tasks-db's SIGTERM
        # handler calls sys.exit() wherever the worker is, and inside a
        # commit that ends in an error exit. What it sent, and that nothing
        # is sent twice or lost, is what this test checks below.
        worker.wait(timeout=60)
        midway = len(server.inbox.messages)
        assert 60 <= midway < 300
        progress = client.get(
            reverse("admin:backoffice_mailing_progress", args=[mailing.pk])
        )
        assert f"{midway} / 300" in progress.content.decode()

        requeue = _manage(
            ["requeue_backoffice_mail"], port=server.port, tmp_path=tmp_path
        )
        assert requeue.wait(timeout=60) == 0
        worker = _manage(
            ["db_worker", "--queue-name", "*", "--interval", "0.1"],
            port=server.port,
            tmp_path=tmp_path,
        )
        _wait(
            lambda: not OutgoingMail.objects.filter(sent_at__isnull=True).exists(),
            timeout=300,
            worker=worker,
            log=log,
        )
        # A stray second send could only come from a task still queued or
        # running: wait until the worker has run every task, then stop it
        # as a service manager does (it finishes the task in hand).
        _wait(
            lambda: not _tasks_in_hand(),
            timeout=120,
            worker=worker,
            log=log,
        )
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        # A worker left running would take the next tests' tasks.
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
        server.stop()

    received = Counter(rcpt for _, rcpts, _ in server.inbox.messages for rcpt in rcpts)
    assert sorted(received) == emails
    assert set(received.values()) == {1}
    assert set(mailing.mails.values_list("status", flat=True)) == {MailStatus.SENT}
    subjects = {str(m["Subject"]) for _, _, m in server.inbox.messages}
    assert subjects == {"Ändrad tid"}


# The worker stopped midway. A task it had claimed when the signal came
# (django-tasks-db exits between its claim and the task's end) stays RUNNING
# under its id; its mail is requeued by requeue_backoffice_mail.
STOPPED_WORKER = "stopped-midway"


def _tasks_in_hand() -> list:
    """Tasks queued, or running on a worker that is still running."""
    return [
        task
        for task in DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
        if not (task.status == "RUNNING" and task.worker_ids == [STOPPED_WORKER])
    ]


def test_a_worker_dying_mid_send_and_duplicate_tasks_still_send_once(
    organiser, show, mailoutbox
):
    event, (standard, _) = show
    emails = buyers(event, standard, 40)
    mailing = services.start_mailing(
        user=organiser, event_ids=[event.pk], subject="Hej", body="Text"
    )
    run_worker(max_tasks=15)
    assert len(mailoutbox) == 15
    # The next task: its worker was killed during SMTP (task RUNNING, row claimed).
    started = timezone.now() - outbox.CLAIM_DURATION - timedelta(minutes=1)
    task = DBTaskResult.objects.filter(status="READY").order_by("enqueued_at").first()
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING", started_at=started)
    mail_id = task.args_kwargs["args"][0]
    OutgoingMail.objects.filter(pk=mail_id).update(
        attempts=1,
        claim_token="dead-worker",
        claimed_until=started + outbox.CLAIM_DURATION,
        next_attempt_at=started,
    )
    # The requeue enqueues only the lost one: the others are still queued.
    assert outbox.requeue_stalled_mail() == 1
    # And every unsent row gets a second task anyway (a task duplicated).
    for mail_id in OutgoingMail.objects.filter(sent_at__isnull=True).values_list(
        "pk", flat=True
    ):
        outbox._enqueue(mail_id)
    # Starting the mailing again adds nobody.
    with transaction.atomic():
        assert outbox.queue_mailing(mailing=mailing, recipients=emails) == 0
    run_worker()
    received = Counter(m.to[0] for m in mailoutbox)
    assert sorted(received) == emails
    assert set(received.values()) == {1}
