"""The reconciliation job: every open payment request is read from Swish and
settled; overdue ones are cancelled; lost creates are released."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.payments.services import reconcile_payments
from ticketshop.payments.tasks import (
    reconcile_payments_periodically,
    schedule_reconciliation,
)
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_request_still_created_after_swish_timeout_is_cancelled(
    buyer, event_and_type, settings
):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    SwishPayment.objects.update(created_at=timezone.now() - timedelta(minutes=20))

    counts = reconcile_payments()

    assert counts["cancelled"] == 1
    assert SimulatedPaymentRequest.objects.get(token=token).status == "CANCELLED"
    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert not order.payment_pending


def test_young_pending_request_is_only_read(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)

    counts = reconcile_payments()

    assert counts == {"read": 1}
    assert SimulatedPaymentRequest.objects.get(token=token).status == "CREATED"
    assert SwishPayment.objects.get().checked_at is not None


def test_create_that_never_reached_swish_is_released(
    buyer, event_and_type, settings, refused_port
):
    event, standard = event_and_type
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    assert buyer.reserve(event, standard).status_code == 201
    assert buyer.start_payment().status_code == 500
    assert Order.objects.get().payment_pending
    settings.SWISH_API_URL = ""

    reconcile_payments()  # still within the create's window: left alone
    assert SwishPayment.objects.get().status == SwishStatus.CREATING
    SwishPayment.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    reconcile_payments()

    assert SwishPayment.objects.get().status == SwishStatus.REJECTED
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and not order.payment_pending


def test_command_runs_a_pass_and_schedules_the_worker_task_once(db, capsys):
    call_command("reconcile_payments")
    assert "nothing open" in capsys.readouterr().out

    call_command("reconcile_payments", "--schedule")
    call_command("reconcile_payments", "--schedule")

    waiting = DBTaskResult.objects.filter(
        task_path=reconcile_payments_periodically.module_path, status="READY"
    )
    assert waiting.count() == 1


def test_periodic_task_queues_its_next_run_a_minute_later(db, settings):
    settings.SWISH_RECONCILE_EVERY_SECONDS = 60
    before = timezone.now()

    reconcile_payments_periodically.call()

    nxt = DBTaskResult.objects.get(
        task_path=reconcile_payments_periodically.module_path
    )
    assert nxt.run_after >= before + timedelta(seconds=59)
    assert schedule_reconciliation() is False
