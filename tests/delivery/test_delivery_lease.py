"""The sending worker's lease: renewed while it sends, lapsing when it dies."""

import time
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from ticketshop.delivery import services
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.ops.models import Lease
from ticketshop.ops.upkeep import tick

from .conftest import mark_paid, reserve, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_slow_send_keeps_its_lease_and_is_not_requeued(mailoutbox, monkeypatch):
    monkeypatch.setattr(services, "CLAIM_DURATION", timedelta(seconds=0.6))
    seen = {}
    original = EmailBackend.send_messages

    def slow_send(self, messages):
        time.sleep(1.5)  # more than two leases long
        seen["requeued"] = services.requeue_stalled_deliveries()
        seen["claimed_until"] = TicketDelivery.objects.get().claimed_until
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)
    mark_paid(reserve())
    run_worker()

    assert seen["requeued"] == 0
    assert seen["claimed_until"] > timezone.now() - timedelta(seconds=1.5)
    run_worker()
    assert len(mailoutbox) == 1
    assert TicketDelivery.objects.get().times_sent == 1


def test_a_dead_senders_lease_lapses_and_any_worker_requeues_it(mailoutbox):
    order = mark_paid(reserve())
    past = timezone.now() - timedelta(seconds=5)
    TicketDelivery.objects.filter(order=order).update(
        attempts=1,
        last_attempt_at=past - services.CLAIM_DURATION,
        next_attempt_at=past - services.CLAIM_DURATION,
        claim_token="dead-worker",
        claimed_until=past,  # lapsed five seconds ago, never renewed
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(status="RUNNING")  # the dead worker's task
    run_worker()
    assert mailoutbox == []

    done = tick(worker_id="another-worker", started_at=timezone.now())
    assert done["requeued"] == 1
    run_worker()
    assert len(mailoutbox) == 1
    delivery = TicketDelivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert Lease.objects.get(name="delivery.requeue").holder == "another-worker"
