"""Each paid order gets exactly one ticket e-mail, however often it is scheduled."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ticketshop.delivery.models import TicketDelivery
from ticketshop.delivery.services import schedule_ticket_delivery, send_tickets

from .conftest import mark_paid, reserve, run_worker


def schedule_again(order):
    with transaction.atomic(durable=True):
        schedule_ticket_delivery(order=order)


@pytest.mark.django_db(transaction=True)
def test_delivery_scheduled_twice_sends_one_email(mailoutbox):
    order = mark_paid(reserve())
    schedule_again(order)  # the callback arriving twice
    assert DBTaskResult.objects.filter(status="READY").count() == 2

    run_worker()

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["kund@example.org"]
    assert TicketDelivery.objects.get(order=order).times_sent == 1


@pytest.mark.django_db(transaction=True)
def test_scheduling_a_sent_order_again_enqueues_nothing(mailoutbox):
    order = mark_paid(reserve())
    run_worker()
    schedule_again(order)

    assert not DBTaskResult.objects.filter(status="READY").exists()
    run_worker()
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_task_finding_another_worker_sending_looks_again_after_its_claim(mailoutbox):
    order = mark_paid(reserve())
    claimed_until = timezone.now() + timedelta(minutes=10)
    TicketDelivery.objects.filter(order=order).update(claimed_until=claimed_until)
    DBTaskResult.objects.all().delete()

    assert send_tickets(order_id=order.pk) == "claimed_elsewhere"

    assert mailoutbox == []
    # Should that worker die mid-send, this task takes over once the claim lapses.
    assert DBTaskResult.objects.get(status="READY").run_after == claimed_until
    assert send_tickets(order_id=order.pk, now=claimed_until) == "sent"
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_scheduling_outside_the_paid_transaction_is_refused():
    order = reserve()
    with pytest.raises(RuntimeError, match="inside the order's transaction"):
        schedule_ticket_delivery(order=order)
    assert not TicketDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()
