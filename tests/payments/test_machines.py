"""The state machines of Swish payment requests and refunds: the docs show
their tables, each transition writes one history row, a refused one none."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import event_with_types
from tests.payments.test_apply_swish_state import swish_object
from ticketshop.orders.models import Order
from ticketshop.payments import settle, start
from ticketshop.payments.common import new_swish_id
from ticketshop.payments.machines import (
    PAYMENT,
    REFUND,
    create_payment,
    create_refund,
    move,
)
from ticketshop.payments.models import RefundStatus, SwishPayment, SwishStatus
from ticketshop.statemachine.machine import TransitionNotAllowed
from ticketshop.statemachine.models import StateChange

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "swish.md"


@pytest.mark.parametrize("machine", [PAYMENT, REFUND], ids=lambda m: m.name)
def test_the_docs_show_each_machines_own_table(machine):
    table = machine.describe()
    for name in machine.transitions:
        assert f"| {name} |" in table
    assert table in DOCS.read_text(encoding="utf-8")


@pytest.fixture
def order(post_json):
    event, (standard, _) = event_with_types()
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 1}],
        },
    )
    Order.objects.update(payment_pending=True, email="buyer@example.com")
    return Order.objects.get()


def new_payment(order) -> SwishPayment:
    with transaction.atomic():
        return create_payment(
            order=order,
            request_id=new_swish_id(),
            callback_identifier=new_swish_id(),
            amount=order.total_price,
        )


def rows(machine, record):
    return [
        (row.transition, row.from_state, row.to_state)
        for row in machine.history(record.pk)
    ]


def read(payment, status, **extra):
    settle.apply_payment_object(
        payment_id=payment.pk,
        obj=swish_object(payment, status, **extra),
        now=timezone.now(),
    )


def test_creating_a_payment_request_writes_its_first_row(order):
    payment = new_payment(order)
    assert payment.status == SwishStatus.CREATING
    assert rows(PAYMENT, payment) == [("create", "", "CREATING")]


@pytest.mark.parametrize(
    "status, transition",
    [
        ("PAID", "paid"),
        ("DECLINED", "declined"),
        ("ERROR", "error"),
        ("CANCELLED", "cancelled"),
    ],
)
def test_each_state_swish_reports_is_one_transition_and_one_row(
    order, status, transition
):
    payment = new_payment(order)
    read(payment, "CREATED")
    read(payment, "CREATED")  # the same state again: no row
    read(payment, status)
    assert rows(PAYMENT, payment) == [
        ("create", "", "CREATING"),
        ("created", "CREATING", "CREATED"),
        (transition, "CREATED", status),
    ]
    # Settled: a different answer later changes nothing and writes nothing,
    # except money: a PAID after an end is recorded (one row), never dropped.
    other = "DECLINED" if status == "PAID" else "PAID"
    read(payment, other)
    if status == "PAID":
        assert SwishPayment.objects.get(pk=payment.pk).status == status
        assert len(rows(PAYMENT, payment)) == 3
    else:
        assert SwishPayment.objects.get(pk=payment.pk).status == "PAID"
        assert rows(PAYMENT, payment)[3:] == [("paid_late", status, "PAID")]


def test_a_refused_put_and_a_request_swish_never_got_are_rejected(order):
    refused = new_payment(order)
    start._record_rejected(payment_id=refused.pk, codes=["ACMT07"], now=timezone.now())
    assert rows(PAYMENT, refused)[-1] == ("rejected", "CREATING", "REJECTED")
    lost = new_payment(order)
    SwishPayment.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    settle._handle_not_found(payment_id=lost.pk, now=timezone.now())
    assert rows(PAYMENT, lost)[-1] == ("not_found", "CREATING", "REJECTED")
    assert SwishPayment.objects.get(pk=lost.pk).error_code == "NOTFOUND"


def test_an_unknown_outcome_resolved_by_hand_is_one_row(order):
    payment = new_payment(order)
    read(payment, "CREATED")
    # Only once Swish no longer knows it (or said DS24).
    settle.resolve_unknown_payment(order_id=order.pk, paid=False)
    assert rows(PAYMENT, payment)[-1] == ("created", "CREATING", "CREATED")
    settle._handle_not_found(payment_id=payment.pk, now=timezone.now())
    settle.resolve_unknown_payment(order_id=order.pk, paid=False)
    assert rows(PAYMENT, payment)[-1] == ("resolved_unpaid", "CREATED", "CANCELLED")
    assert len(rows(PAYMENT, payment)) == 3


def test_a_refused_transition_writes_nothing(order):
    payment = new_payment(order)
    read(payment, "CREATED")
    read(payment, "DECLINED")
    before = StateChange.objects.count()
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        move(PAYMENT, SwishPayment.objects.get(pk=payment.pk), "paid")
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        move(PAYMENT, SwishPayment.objects.get(pk=payment.pk), "resolved_paid")
    assert StateChange.objects.count() == before
    assert SwishPayment.objects.get(pk=payment.pk).status == SwishStatus.DECLINED


def new_refund(payment):
    with transaction.atomic():
        return create_refund(
            payment=payment,
            refund_id=new_swish_id(),
            callback_identifier=new_swish_id(),
            amount=payment.amount,
        )


def test_a_refunds_states_are_one_row_each_and_an_ended_one_refuses(order):
    from ticketshop.payments import refund_send

    payment = new_payment(order)
    refund = new_refund(payment)
    assert rows(REFUND, refund) == [("create", "", "CREATING")]
    obj = {"id": refund.refund_id, "amount": 100.0}
    now = timezone.now()
    for status in ("CREATED", "VALIDATED", "VALIDATED", "DEBITED"):
        refund_send.apply_refund_object(
            refund_pk=refund.pk, obj={**obj, "status": status}, now=now
        )
    assert rows(REFUND, refund) == [
        ("create", "", "CREATING"),
        ("created", "CREATING", "CREATED"),
        ("validated", "CREATED", "VALIDATED"),
        ("debited", "VALIDATED", "DEBITED"),
    ]
    # A status the shop does not know keeps it open, and writes no row.
    refund_send.apply_refund_object(
        refund_pk=refund.pk, obj={**obj, "status": "LATER"}, now=now
    )
    assert len(rows(REFUND, refund)) == 4
    refund.refresh_from_db()
    refund.status = RefundStatus.PAID
    before = StateChange.objects.count()
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        move(REFUND, refund, "error")
    assert StateChange.objects.count() == before


def test_a_refund_sent_with_a_status_unknown_to_the_shop_is_sent(order):
    from ticketshop.payments import refund_send

    refund = new_refund(new_payment(order))
    refund_send.apply_refund_object(
        refund_pk=refund.pk,
        obj={"id": refund.refund_id, "status": "LATER"},
        now=timezone.now(),
    )
    assert rows(REFUND, refund)[-1] == ("sent", "CREATING", "CREATED")


@pytest.mark.django_db(transaction=True)
def test_a_payment_and_its_refund_through_the_simulator_leave_a_chain_of_rows(
    buyer, event_and_type
):
    from tests.delivery.conftest import run_worker
    from tests.payments.test_refunds import paid_order, settled
    from ticketshop.payments.models import SwishRefund
    from ticketshop.payments.refunds import refund_order

    order = paid_order(buyer, event_and_type)
    payment = SwishPayment.objects.get(order=order)
    assert rows(PAYMENT, payment) == [
        ("create", "", "CREATING"),
        ("created", "CREATING", "CREATED"),
        ("paid", "CREATED", "PAID"),
    ]
    # The buyer's request made it; Swish's answer came by callback or poll.
    actors = [row.actor for row in PAYMENT.history(payment.pk)]
    assert actors[:2] == ["buyer", "buyer"]
    assert actors[2] in {"swish-callback", "buyer"}
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    refund = settled(SwishRefund.objects.get())
    assert refund.status == RefundStatus.PAID
    chain = rows(REFUND, refund)
    assert chain[0] == ("create", "", "CREATING")
    assert chain[-1][0] == "paid"
    # One row per change: each starts where the one before ended.
    for before, after in zip(chain, chain[1:], strict=False):
        assert after[1] == before[2] != after[2]
