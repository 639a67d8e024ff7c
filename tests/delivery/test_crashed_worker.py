"""A worker that dies mid-send loses no e-mail: the stalled delivery is requeued."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.delivery.services import CLAIM_DURATION, requeue_stalled_deliveries

from .conftest import mark_paid, reserve, run_worker


def crash_mid_send(order):
    """Leave things as a worker killed during SMTP does: task RUNNING, row claimed."""
    started = timezone.now() - CLAIM_DURATION - timedelta(minutes=1)
    DBTaskResult.objects.update(status="RUNNING", started_at=started)
    TicketDelivery.objects.filter(order=order).update(
        attempts=1,
        last_attempt_at=started,
        next_attempt_at=started,
        claim_token="dead-worker",
        claimed_until=started + CLAIM_DURATION,
    )


@pytest.mark.django_db(transaction=True)
def test_delivery_lost_by_a_crashed_worker_is_sent_after_requeue(mailoutbox):
    order = mark_paid(reserve())
    crash_mid_send(order)
    run_worker()
    assert mailoutbox == []  # nothing left for the worker to run

    out = io.StringIO()
    call_command("requeue_ticket_deliveries", stdout=out)
    assert "Re-enqueued 1 " in out.getvalue()
    run_worker()

    assert len(mailoutbox) == 1
    delivery = TicketDelivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_requeue_leaves_deliveries_that_are_due_being_sent_or_sent():
    mark_paid(reserve())  # its task is queued and due now
    sending = mark_paid(reserve())
    TicketDelivery.objects.filter(order=sending).update(
        next_attempt_at=timezone.now() - CLAIM_DURATION * 2,
        claimed_until=timezone.now() + timedelta(minutes=5),
    )
    sent = mark_paid(reserve())
    TicketDelivery.objects.filter(order=sent).update(
        sent_at=timezone.now(), status=DeliveryStatus.SENT
    )
    tasks_before = DBTaskResult.objects.count()

    assert requeue_stalled_deliveries() == 0
    assert DBTaskResult.objects.count() == tasks_before
