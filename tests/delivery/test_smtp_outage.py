"""SMTP down while an order is paid: the order stays PAID, the mail comes later."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.orders.models import OrderStatus

from .conftest import mark_paid, reserve, run_worker


def ready_retries():
    return DBTaskResult.objects.filter(
        task_path="ticketshop.delivery.tasks.send_order_tickets", status="READY"
    )


@pytest.mark.django_db(transaction=True)
def test_mail_arrives_after_retry_once_smtp_server_is_back(
    stopped_smtp_server, settings
):
    settings.DELIVERY_RETRY_BASE_SECONDS = 60
    server = stopped_smtp_server  # connections are refused
    order = mark_paid(reserve(counts=(1, 1)))

    before = timezone.now()
    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    delivery = order.ticket_delivery
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.sent_at is None
    assert delivery.attempts == 1
    assert "ConnectionRefusedError" in delivery.last_error
    retry = ready_retries().get()
    assert retry.run_after >= before + timedelta(seconds=60)
    assert delivery.next_attempt_at == retry.run_after

    # The retry is not due yet: the worker finds nothing to run.
    run_worker()
    delivery.refresh_from_db()
    assert delivery.attempts == 1

    server.start()
    # Let the backoff pass without sleeping.
    ready_retries().update(run_after=timezone.now())
    run_worker()

    assert len(server.inbox.messages) == 1
    assert server.inbox.messages[0][1] == ["kund@example.org"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert delivery.sent_at is not None
    assert not ready_retries().exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_retries_wait_longer_each_time_and_stop_at_the_limit(
    stopped_smtp_server, settings
):
    settings.DELIVERY_RETRY_BASE_SECONDS = 60
    settings.DELIVERY_RETRY_MAX_SECONDS = 100
    settings.DELIVERY_MAX_ATTEMPTS = 3
    order = mark_paid(reserve(counts=(1, 0)))

    waits = []
    for _attempt in range(3):
        started = timezone.now()
        ready_retries().update(run_after=started)
        run_worker()
        delivery = TicketDelivery.objects.get(order=order)
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - started).total_seconds())

    assert [round(w) for w in waits] == [60, 100]
    assert delivery.status == DeliveryStatus.GAVE_UP
    assert delivery.attempts == 3
    assert delivery.sent_at is None
    assert not ready_retries().exists()
