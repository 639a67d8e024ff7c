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
        "amount": float(payment.amount),
        "currency": "SEK",
        "payeePaymentReference": payment.order.reference,
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


def test_paid_for_a_lapsed_hold_completes_it_while_its_seats_are_free(pending):
    Order.objects.update(
        payment_pending=False, expires_at=timezone.now() - timedelta(minutes=1)
    )

    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=timezone.now()
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == "A" * 32
    assert not order.needs_attention


def test_paid_for_a_lapsed_hold_whose_seats_are_gone_is_flagged(pending):
    Order.objects.update(
        payment_pending=False, expires_at=timezone.now() - timedelta(minutes=1)
    )
    pending.order.event.__class__.objects.update(seats=1)

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


def test_a_paid_state_that_changes_later_is_flagged_not_applied(pending):
    now = timezone.now()
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=now
    )
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "DECLINED"), now=now
    )

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert SwishPayment.objects.get().status == SwishStatus.PAID
    assert order.needs_attention and "DECLINED" in order.attention_reason


def test_paid_after_an_earlier_end_is_recorded_never_dropped(pending):
    now = timezone.now()
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "DECLINED"), now=now
    )
    assert Order.objects.get().status == OrderStatus.FAILED_EXPIRED_RESERVATION
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=now
    )

    # The money is recorded; the order's seats were still free: it is paid.
    assert SwishPayment.objects.get().status == SwishStatus.PAID
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == "A" * 32


def test_an_answer_that_differs_from_the_request_is_flagged_never_applied(pending):
    now = timezone.now()
    for key, value in [
        ("amount", 1.0),
        ("currency", "EUR"),
        ("payeeAlias", "1239999999"),
        ("payeePaymentReference", "SOMEONEELSE"),
    ]:
        apply_payment_object(
            payment_id=pending.pk,
            obj=swish_object(pending, "PAID", **{key: value}),
            now=now,
        )
        payment = SwishPayment.objects.get()
        assert payment.status == SwishStatus.CREATED, key
        assert key in payment.mismatch
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    assert order.needs_attention
    assert "differs from the request" in order.attention_reason
    # The same answer matching the request is applied.
    apply_payment_object(
        payment_id=pending.pk, obj=swish_object(pending, "PAID"), now=now
    )
    assert Order.objects.get().status == OrderStatus.PAID


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
