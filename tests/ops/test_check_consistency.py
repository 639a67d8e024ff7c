"""manage.py check_consistency: silent on a sound shop, names each difference."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.delivery.conftest import mark_paid, reserve
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.orders.models import Order, OrderStatus, SeatCounter, Ticket
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

pytestmark = pytest.mark.django_db(transaction=True)


def paid_order(**kwargs) -> Order:
    order = mark_paid(reserve(**kwargs))
    SwishPayment.objects.create(
        order=order,
        request_id=f"{order.pk:032x}",
        callback_identifier="cb",
        amount=order.total_price,
        status=SwishStatus.PAID,
        payment_reference=order.payment_reference,
    )
    return order


def run() -> tuple[str, str | None]:
    import io

    out = io.StringIO()
    try:
        call_command("check_consistency", stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None


def test_a_sound_shop_is_consistent():
    paid_order()
    reserve()
    out, error = run()
    assert error is None
    assert "consistent (2 orders, 6 tickets checked)" in out


def test_oversold_event_is_reported():
    order = paid_order(seats=3)
    Ticket.objects.create(
        external_id="ZZZZZZ",
        order=order,
        event=order.event,
        ticket_type=order.tickets.first().ticket_type,
        price="0",
    )
    out, error = run()
    assert "oversold: event" in out and "4 live tickets for 3 seats" in out
    assert "order and tickets disagree" in out  # the stored count is 3
    assert error and "difference(s)" in error


def test_a_seat_counter_below_the_live_tickets_is_reported():
    order = paid_order(seats=5)  # 3 tickets
    SeatCounter.objects.update_or_create(event=order.event, defaults={"held": 3})
    assert run()[1] is None  # exact is sound; so is above or unknown
    SeatCounter.objects.filter(event=order.event).update(held=None)
    assert run()[1] is None
    SeatCounter.objects.filter(event=order.event).update(held=2)
    out, error = run()
    assert f"seat counter too low: event {order.event_id}: counter 2, 3 live" in out
    assert error and "difference(s)" in error


def test_expired_reservations_do_not_count_as_sold():
    order = reserve(seats=3)
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    reserve_again = reserve(seats=3)
    assert reserve_again
    assert run()[1] is None


def test_paid_order_without_payment_or_email_is_reported():
    order = mark_paid(reserve())  # no Swish payment recorded
    TicketDelivery.objects.filter(order=order).delete()
    out, error = run()
    assert f"paid order without a paid Swish payment: order {order.reference}" in out
    assert f"paid order without a ticket e-mail: order {order.reference}" in out
    assert error


def test_money_taken_for_a_failed_order_must_be_refunded_or_flagged():
    order = paid_order()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED_ADMIN)
    out, error = run()
    assert "money taken for no paid order" in out and error
    Order.objects.filter(pk=order.pk).update(needs_attention=True)
    assert run()[1] is None


def test_sent_status_without_time_and_used_unpaid_ticket_are_reported():
    order = paid_order()
    TicketDelivery.objects.filter(order=order).update(status=DeliveryStatus.SENT)
    unpaid = reserve()
    Ticket.objects.filter(order=unpaid).update(times_used=1)
    out, error = run()
    assert "ticket e-mail status and sent time disagree" in out
    assert "ticket used but never paid" in out
    assert error


def test_a_refund_stuck_in_creating_beyond_the_grace_is_reported():
    order = paid_order()
    payment = SwishPayment.objects.get(order=order)
    refund = SwishRefund.objects.create(
        payment=payment,
        refund_id="F" * 32,
        callback_identifier="cb",
        amount=payment.amount,
        status=RefundStatus.CREATING,
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED_ADMIN)
    # Just recorded: its worker may be sending it.
    assert run()[1] is None
    # Recorded long ago and never sent.
    SwishRefund.objects.filter(pk=refund.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    out, error = run()
    assert "refund stuck before Swish" in out and "F" * 32 in out and error
    # Sent just now (reconciliation resent it): not stuck.
    SwishRefund.objects.filter(pk=refund.pk).update(sent_at=timezone.now())
    assert run()[1] is None
    # Sent long ago without an answer: stuck again.
    SwishRefund.objects.filter(pk=refund.pk).update(
        sent_at=timezone.now() - timedelta(minutes=5)
    )
    assert "refund stuck before Swish" in run()[0]
