"""The sending worker's lease: renewed while it sends, lapsing when it dies."""

import time
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from ticketshop.delivery import services
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.leases.models import Lease
from ticketshop.ops.upkeep import tick

from .conftest import mark_paid, reserve, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_slow_send_keeps_its_lease_and_is_not_requeued(mailoutbox, monkeypatch):
    """While SMTP talks, the lease is renewed: the send waits until it has
    seen two renewals (no fixed sleep), then asks for the stalled deliveries
    at an instant past the first lease's end, which a dead sender's lease
    would not have outlived."""
    monkeypatch.setattr(services, "CLAIM_DURATION", timedelta(seconds=0.6))
    seen = {}
    original = EmailBackend.send_messages

    def lease() -> object:
        return TicketDelivery.objects.get().claimed_until

    def slow_send(self, messages):
        first = lease()
        renewals = {first}
        deadline = time.monotonic() + 30
        while len(renewals) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            renewals.add(lease())
        renewed = lease()
        seen["renewals"] = len(renewals) - 1
        # Past the first lease, before the renewed one ends.
        seen["requeued"] = services.requeue_stalled_deliveries(
            now=first + (renewed - first) / 2
        )
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)
    mark_paid(reserve())
    run_worker()

    assert seen["renewals"] >= 2
    assert seen["requeued"] == 0
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
