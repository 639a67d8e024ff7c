"""Applying what Swish says to an order: once, under the order's lock, and
never selling seats of a lapsed hold."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import event_with_types
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.payments.services import apply_payment_object, new_swish_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(post_json):
    event, (standard, _) = event_with_types()
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 2}],
        },
    )
    order = Order.objects.get()
    Order.objects.update(payment_pending=True, email="buyer@example.com")
    return SwishPayment.objects.create(
        order=order,
        request_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        token="t" * 32,
        amount=order.total_price,
        status=SwishStatus.CREATED,
    )


def swish_object(payment, status, **extra):
    return {
        "id": payment.request_id,
        "status": status,
        "paymentReference": "A" * 32 if status == "PAID" else None,
        "datePaid": "2026-11-26T13:13:43.561+0000" if status == "PAID" else None,
        "payerAlias": "46464646464",
        "amount": 398.0,
        **extra,
    }


def test_paid_applied_three_times_changes_the_order_once(pending):
    now = timezone.now()
    for _ in range(3):
        apply_payment_object(
            payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=now
        )

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == "A" * 32
    assert order.paid_at.isoformat() == "2026-11-26T13:13:43.561000+00:00"
    assert DBTaskResult.objects.count() == 1


def test_paid_for_a_lapsed_hold_without_payment_pending_is_flagged(pending):
    Order.objects.update(
        payment_pending=False, expires_at=timezone.now() - timedelta(minutes=1)
    )

    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=timezone.now()
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED
    assert order.needs_attention and "refund" in order.attention_reason


def test_unknown_status_changes_nothing(pending):
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "WEIRD"), now=timezone.now()
    )

    assert SwishPayment.objects.get().status == SwishStatus.CREATED
    assert SwishPayment.objects.get().raw["status"] == "WEIRD"
    assert Order.objects.get().payment_pending


def test_a_final_state_that_changes_later_is_flagged_not_applied(pending):
    now = timezone.now()
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "DECLINED"), now=now
    )
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=now
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert order.needs_attention


def test_end_of_an_older_request_does_not_fail_the_order(pending):
    newer = SwishPayment.objects.create(
        order=pending.order,
        request_id=new_swish_id(),
        callback_identifier=new_swish_id(),
        amount=pending.amount,
        status=SwishStatus.CREATED,
    )

    apply_payment_object(
        payment_id=pending.pk,
        obj=swish_object(pending, "CANCELLED"),
        now=timezone.now(),
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    # The older request's end was recorded; the newer one is untouched.
    assert SwishPayment.objects.get(pk=pending.pk).status == SwishStatus.CANCELLED
    assert SwishPayment.objects.get(pk=newer.pk).status == SwishStatus.CREATED

    # The same end of the newer (latest) request does fail the order.
    apply_payment_object(
        payment_id=newer.pk,
        obj=swish_object(newer, "CANCELLED"),
        now=timezone.now(),
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert not order.payment_pending
