"""Refunds over real HTTP (shop and Swish simulator in one live server): sent
by the task worker, spaced, resent by reconciliation with the same id when
left CREATING, every status Swish reports, and an order refunded only when
Swish says PAID."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from tests.admin_actions import confirmed
from tests.delivery.conftest import run_worker
from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus, RefundState
from ticketshop.payments import swish
from ticketshop.payments.models import RefundStatus, SwishRefund
from ticketshop.payments.services import (
    reconcile_payments,
    refresh_refund,
    refund_order,
    refund_tickets,
)
from ticketshop.swish_simulator import services as simulator_services
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedRefund

pytestmark = pytest.mark.django_db(transaction=True)


def paid_order(buyer, event_and_type, count=1) -> Order:
    event, standard = event_and_type
    known = list(Order.objects.values_list("pk", flat=True))
    token = buyer.reserved_and_started(event, standard, count=count)
    assert buyer.pay(token).status_code == 200
    return wait_for(
        lambda: (
            Order.objects.filter(status=OrderStatus.PAID).exclude(pk__in=known).first()
        )
    )


def refund_created_unanswered(buyer, event_and_type, settings):
    """A paid order refunded by the organiser whose PUT reached Swish (the
    simulator created the refund) but whose answer timed out, with no
    callback either: only a resend can tell the shop. (order, its refund)."""
    order = paid_order(buyer, event_and_type)
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 0.5
    settings.SWISH_SIMULATOR_HANG_SECONDS = 1.5
    settings.SWISH_SIMULATOR_FAIL_REFUND = "timeout-after-create"
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    # The lost PUT may reach the simulator after the worker gave up on it:
    # the switch goes off only once that PUT has created the refund.
    wait_for(lambda: SimulatedRefund.objects.exists())
    settings.SWISH_SIMULATOR_FAIL_REFUND = ""
    # What follows talks to a simulator that answers: the short timeout was
    # for the lost answer only (CI's lanes side by side once took over 0.5 s
    # to answer the read that follows a resend).
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 5.0
    return order, SwishRefund.objects.get()


def settled(refund: SwishRefund) -> SwishRefund:
    """Let the simulator finish its steps, then read the refund from Swish."""
    scheduler.wait_idle()
    refresh_refund(refund=refund)
    refund.refresh_from_db()
    return refund


class Killed(BaseException):
    """The process dies here (as SIGKILL would: nothing after it runs)."""


def test_a_refund_killed_between_recording_and_sending_is_sent_by_reconciliation(
    buyer, event_and_type, monkeypatch
):
    order = paid_order(buyer, event_and_type)
    put = swish.create_refund

    def killed(**kwargs):
        raise Killed()

    # The process dies after the refund was committed, before its PUT left.
    monkeypatch.setattr(swish, "create_refund", killed)
    try:
        refund_order(order_id=order.pk, requested_by="organiser")
        run_worker()
    except Killed:
        pass
    monkeypatch.setattr(swish, "create_refund", put)
    refund = SwishRefund.objects.get()
    assert refund.status == RefundStatus.CREATING
    assert not SimulatedRefund.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_ADMIN
    assert order.refund_state == RefundState.PENDING

    # Within the grace it may still be on its way: left alone.
    reconcile_payments()
    assert not SimulatedRefund.objects.exists()
    # After it, reconciliation sends it again, with the same id.
    reconcile_payments(now=timezone.now() + timedelta(minutes=2))
    assert SimulatedRefund.objects.get().pk == refund.refund_id
    assert settled(refund).status == RefundStatus.PAID
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED


def test_an_answer_lost_after_swish_created_it_is_read_on_the_resend(
    buyer, event_and_type, settings
):
    """The PUT arrived but its answer did not: the resend gets RF09 ("that id
    exists"), and the shop reads the refund instead of failing it."""
    order, refund = refund_created_unanswered(buyer, event_and_type, settings)
    # Created at Swish, but the shop does not know it yet.
    assert SimulatedRefund.objects.filter(pk=refund.refund_id).exists()
    assert refund.status == RefundStatus.CREATING
    assert refund.sent_at is not None and refund.send_attempts == 1

    reconcile_payments(now=timezone.now() + timedelta(minutes=2))
    refund.refresh_from_db()
    assert refund.send_attempts == 2
    assert refund.status != RefundStatus.REJECTED
    assert SimulatedRefund.objects.count() == 1
    assert settled(refund).status == RefundStatus.PAID
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED
    assert not order.needs_attention


def test_swish_unreachable_leaves_the_refund_pending_until_it_is_back(
    buyer, event_and_type, settings
):
    order = paid_order(buyer, event_and_type)
    live_api = f"{settings.PUBLIC_BASE_URL}/swish-simulator/swish-cpcapi/api/"
    settings.SWISH_API_URL = "http://127.0.0.1:9/"
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    refund = SwishRefund.objects.get()
    assert refund.status == RefundStatus.CREATING
    order.refresh_from_db()
    # Pending, not failed: nobody has to retry it by hand.
    assert order.refund_state == RefundState.PENDING
    assert not order.needs_attention

    settings.SWISH_API_URL = live_api
    reconcile_payments(now=timezone.now() + timedelta(minutes=2))
    assert SimulatedRefund.objects.get().pk == refund.refund_id
    assert settled(refund).status == RefundStatus.PAID


# Swish's refund statuses (swish.md section 9; Swish's documentation lists
# CREATED, VALIDATED, DEBITED, PAID and ERROR), and one it may add later.
@pytest.mark.parametrize(
    ("status", "recorded", "refund_state", "flagged"),
    [
        ("CREATED", "CREATED", RefundState.PENDING, False),
        ("VALIDATED", "VALIDATED", RefundState.PENDING, False),
        ("DEBITED", "DEBITED", RefundState.PENDING, False),
        ("PAID", "PAID", RefundState.REFUNDED, False),
        ("ERROR", "ERROR", RefundState.FAILED, True),
        ("SOMETHING_NEW", "CREATED", RefundState.PENDING, False),
    ],
)
def test_every_refund_status_swish_reports(
    buyer,
    event_and_type,
    monkeypatch,
    settings,
    status,
    recorded,
    refund_state,
    flagged,
):
    # The simulator's refund stays CREATED: no callback of its own may move it
    # while the test feeds the status below (it did, under load).
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 3600
    order = paid_order(buyer, event_and_type)
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    refund = SwishRefund.objects.get()
    assert refund.status == RefundStatus.CREATED
    obj = {
        **SimulatedRefund.objects.get().to_swish(),
        "status": status,
        "errorCode": "FF10" if status == "ERROR" else None,
        "errorMessage": "Bank system processing error" if status == "ERROR" else None,
    }
    monkeypatch.setattr(swish, "read_refund", lambda refund_id: obj)

    refresh_refund(refund=refund)

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == recorded
    assert refund.raw["status"] == status
    assert order.refund_state == refund_state
    assert order.needs_attention == flagged
    if status == "ERROR":
        assert refund.error_code == "FF10"
        assert "FF10" in order.attention_reason


def test_the_simulator_passes_refunds_through_validated(
    buyer, event_and_type, settings, monkeypatch
):
    """Each read of a refund whose next step is due takes exactly that step.
    No clock decides here: every step is an hour away until the test makes
    it due, the simulator's timer and (once the order is paid) its callbacks
    are off, so only the test's reads advance it. CI met both the timer
    taking two steps between two reads of a loaded test and the first
    step being due before the first read."""
    order = paid_order(buyer, event_and_type)
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 3600
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    monkeypatch.setattr(simulator_services, "refund_step_when_due", lambda _id: None)
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    refund = SwishRefund.objects.get()
    seen = []
    for _ in range(10):
        refresh_refund(refund=refund)
        refund.refresh_from_db()
        if not seen or seen[-1] != refund.status:
            seen.append(refund.status)
        if refund.status == RefundStatus.PAID:
            break
        # The next step comes due.
        SimulatedRefund.objects.update(due_at=timezone.now())
    assert seen == ["CREATED", "VALIDATED", "DEBITED", "PAID"]
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED


def test_an_order_is_refunded_only_when_swish_paid_back_all_it_owes(
    buyer, event_and_type, settings, monkeypatch
):
    """One cancelled ticket's refund fails at the bank; another one's is
    paid: the first is still owed, so the order is not refunded."""
    order = paid_order(buyer, event_and_type, count=3)
    # The shop reads the refunds when this test says so.
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    first, second, _ = order.tickets.order_by("pk")
    refund_tickets(order_id=order.pk, ticket_ids=[first.pk])
    run_worker()
    failed = SwishRefund.objects.get()
    read = swish.read_refund
    # Swish: the first refund failed (ERROR FF10, a bank system error).
    monkeypatch.setattr(
        swish,
        "read_refund",
        lambda refund_id: {**read(refund_id), "status": "ERROR", "errorCode": "FF10"},
    )
    failed = settled(failed)
    assert failed.status == RefundStatus.ERROR
    monkeypatch.setattr(swish, "read_refund", read)
    refund_tickets(order_id=order.pk, ticket_ids=[second.pk])
    run_worker()
    paid = settled(SwishRefund.objects.exclude(pk=failed.pk).get())
    assert paid.status == RefundStatus.PAID

    order.refresh_from_db()
    assert order.refund_state != RefundState.REFUNDED
    assert order.refund_state == RefundState.FAILED
    assert order.needs_attention


def test_a_refund_swish_has_not_paid_back_leaves_the_order_pending(
    buyer, event_and_type, settings
):
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 60.0
    order = paid_order(buyer, event_and_type)
    refund_order(order_id=order.pk, requested_by="organiser")
    order.refresh_from_db()
    # Recorded, not sent: pending.
    assert order.refund_state == RefundState.PENDING
    run_worker()
    refund = SwishRefund.objects.get()
    refresh_refund(refund=refund)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.CREATED
    order.refresh_from_db()
    assert order.refund_state == RefundState.PENDING


def test_bulk_refunds_reach_swish_at_least_the_spacing_apart(
    buyer, event_and_type, settings, client
):
    settings.SWISH_REFUND_SPACING_SECONDS = 1.0
    orders = []
    for _ in range(3):
        buyer.http.cookies.clear()
        orders.append(paid_order(buyer, event_and_type))
    client.force_login(User.objects.create_superuser("o", "o@example.org", "pw"))

    # The admin's bulk action on three orders at once.
    changelist = reverse("admin:orders_order_changelist")
    chosen = {"action": "refund_via_swish", "_selected_action": [o.pk for o in orders]}
    response = client.post(changelist, confirmed(client, changelist, chosen))
    assert response.status_code == 302
    assert SwishRefund.objects.count() == 3
    run_worker()

    received = sorted(SimulatedRefund.objects.values_list("date_created", flat=True))
    assert len(received) == 3
    gaps = [
        (b - a).total_seconds() for a, b in zip(received, received[1:], strict=False)
    ]
    assert min(gaps) >= 1.0, gaps
    sent = sorted(SwishRefund.objects.values_list("sent_at", flat=True))
    assert (
        min((b - a).total_seconds() for a, b in zip(sent, sent[1:], strict=False))
        >= 1.0
    )


def test_refunds_sent_by_two_workers_at_once_are_spaced(
    buyer, event_and_type, settings
):
    from django.db import connection

    from ticketshop.payments.services import send_refund

    settings.SWISH_REFUND_SPACING_SECONDS = 0.5
    orders = []
    for _ in range(4):
        buyer.http.cookies.clear()
        orders.append(paid_order(buyer, event_and_type))
    for order in orders:
        refund_order(order_id=order.pk)
    pks = list(SwishRefund.objects.order_by("pk").values_list("pk", flat=True))
    errors = []

    def worker(mine):
        try:
            for pk in mine:
                send_refund(refund_pk=pk, holder=threading.current_thread().name)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(pks[i::2],), name=f"worker{i}")
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    received = sorted(SimulatedRefund.objects.values_list("date_created", flat=True))
    assert len(received) == 4
    gaps = [
        (b - a).total_seconds() for a, b in zip(received, received[1:], strict=False)
    ]
    assert min(gaps) >= 0.5, gaps
    assert not SwishRefund.objects.filter(
        status__in=[RefundStatus.CREATING, RefundStatus.REJECTED]
    ).exists()
    assert sum(SwishRefund.objects.values_list("amount", flat=True)) == Decimal("600")


def test_a_resend_refused_for_another_reason_reads_the_refund_first(
    buyer, event_and_type, settings, monkeypatch
):
    """Should Swish answer a resent id with something other than RF09 (an
    RF08 for its own amount, say), the shop reads it before calling it
    refused: a refund that exists is never made again by a retry."""
    order, refund = refund_created_unanswered(buyer, event_and_type, settings)
    assert refund.status == RefundStatus.CREATING

    def rf08(**kwargs):
        raise swish.SwishRefused(422, ["RF08"], "amount exceeds what is left")

    monkeypatch.setattr(swish, "create_refund", rf08)
    reconcile_payments(now=timezone.now() + timedelta(minutes=2))
    refund.refresh_from_db()
    assert refund.status not in (RefundStatus.CREATING, RefundStatus.REJECTED)
    assert settled(refund).status == RefundStatus.PAID
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED
    assert not order.needs_attention


def test_a_refund_swish_refuses_at_once_is_failed_and_flagged(
    buyer, event_and_type, monkeypatch
):
    order = paid_order(buyer, event_and_type)

    def ff08(**kwargs):
        raise swish.SwishRefused(422, ["FF08"], "Payment Reference is invalid")

    monkeypatch.setattr(swish, "create_refund", ff08)
    refund_order(order_id=order.pk, requested_by="organiser")
    run_worker()
    refund = SwishRefund.objects.get()
    assert (refund.status, refund.error_code) == (RefundStatus.REJECTED, "FF08")
    order.refresh_from_db()
    assert order.refund_state == RefundState.FAILED
    assert order.needs_attention and "FF08" in order.attention_reason
