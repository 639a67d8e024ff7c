"""No final status Swish did not report, and money Swish took is never left
waiting in silence; over HTTP, against the simulator.

- The unknown-outcome actions ("release", "mark paid") settle by hand only
  after DS24 or once Swish no longer knows the request; a request still
  open is cancelled at Swish first, whose answer decides.
- A PAID arriving after a release is recorded and the order recovered.
- A PAID for an order the shop gave up completes it while its seats are
  free; else the refund is proposed and the organisers are e-mailed, and
  the buyer's pages say the money arrived and is paid back.
- An answer that differs from the request is flagged, never applied.
"""

import re

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from tests.admin_actions import confirmed
from tests.delivery.conftest import run_worker
from tests.payments.conftest import wait_for
from ticketshop.backoffice.models import AuditEntry, OutgoingMail
from ticketshop.backoffice.services import refund_allowed
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.statemachine.models import StateChange
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def organiser(client):
    user = User.objects.create_superuser("o", "organiser@example.org", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def no_callbacks(settings):
    """Swish's own callbacks are lost; each test sends the one it needs."""
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True


def callback(buyer, payment: SwishPayment) -> requests.Response:
    """POST Swish's callback for the payment, as Swish does (the body names
    the request; the shop reads its state from Swish), then let the task
    worker do what it queued."""
    simulated = SimulatedPaymentRequest.objects.get(pk=payment.request_id)
    response = requests.post(
        f"{buyer.base}/swish/callback/",
        json=simulated.to_swish(),
        headers={"callbackIdentifier": payment.callback_identifier},
        timeout=30,
    )

    def read_and_applied():
        row = SwishPayment.objects.get(pk=payment.pk)
        return (
            not row.read_queued
            and row.reading_until is None
            and (row.raw or {}).get("status") == simulated.status
        )

    # The worker's read (queued by the callback) is applied, recovery too.
    wait_for(read_and_applied, timeout=30)
    run_worker()
    return response


def act(client, action: str, order: Order, language: str = "en"):
    """Show an order action's confirmation page, then confirm it."""
    url = reverse(CHANGELIST)
    chosen = {"action": action, "_selected_action": [order.pk]}
    page = client.post(url, chosen, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    done = client.post(
        url,
        confirmed(client, url, chosen),
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    return page, done


def transitions(payment: SwishPayment) -> list[str]:
    return list(
        StateChange.objects.filter(machine="swish_payment", record_id=payment.pk)
        .order_by("pk")
        .values_list("transition", flat=True)
    )


@pytest.fixture
def running(buyer, event_and_type, no_callbacks):
    """A buyer's payment request, open at Swish (CREATED)."""
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard, 2)
    return token, Order.objects.get(), SwishPayment.objects.get()


# --- Settling by hand: only what Swish cannot tell ------------------------------


def test_release_of_an_open_request_asks_swish_to_cancel_it_first(
    running, client, organiser
):
    _, order, payment = running

    page, done = act(client, "release_unknown_payment", order)

    # The page says Swish is asked first; nothing was written by hand.
    assert "Swish is asked to cancel the running request first" in page.text
    assert "Swish cancelled the request; the order is released" in done.text
    payment.refresh_from_db()
    assert payment.status == SwishStatus.CANCELLED
    # Cancelled by Swish's answer, not "resolved_unpaid" by hand.
    assert transitions(payment)[-1] == "cancelled"
    assert SimulatedPaymentRequest.objects.get().status == "CANCELLED"
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert AuditEntry.objects.filter(action="settle_asked_swish").count() == 1


def test_mark_paid_of_an_open_request_takes_swishs_word(
    running, client, organiser, buyer
):
    token, order, payment = running
    buyer.pay(token, "decline")
    scheduler.wait_idle()

    act(client, "mark_unknown_payment_paid", order)

    # Swish said DECLINED: never recorded as paid by hand.
    payment.refresh_from_db()
    assert payment.status == SwishStatus.DECLINED
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION


def test_release_of_a_request_paid_meanwhile_settles_it_as_paid(
    running, client, organiser, buyer, mailoutbox
):
    token, order, payment = running
    buyer.pay(token)  # the callback is lost
    scheduler.wait_idle()

    _, done = act(client, "release_unknown_payment", order)

    assert "Swish says it was paid; the order is paid" in done.text
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == (
        SimulatedPaymentRequest.objects.get().payment_reference
    )
    run_worker()
    assert len(mailoutbox) == 1


def test_release_is_offered_once_swish_no_longer_knows_the_request(
    running, client, organiser
):
    _, order, payment = running
    SimulatedPaymentRequest.objects.all().delete()  # Swish forgot it

    _, done = act(client, "release_unknown_payment", order)

    # First Swish's 404: the outcome is now unknown; nothing settled yet.
    assert "Swish no longer knows the request" in done.text
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    assert order.needs_attention

    # Now the action settles it by hand.
    page, _ = act(client, "release_unknown_payment", order)
    assert "none received" in page.text
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert transitions(SwishPayment.objects.get())[-1] == "resolved_unpaid"


def test_settling_is_refused_when_swish_reported_an_end(
    running, client, organiser, buyer
):
    token, order, payment = running
    buyer.pay(token, "decline")
    scheduler.wait_idle()
    # The callback was lost and the shop has not read it: still "running".
    page = client.post(
        reverse(CHANGELIST),
        {"action": "release_unknown_payment", "_selected_action": [order.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Swish is asked to cancel" in page.text
    # Once Swish's DECLINED is known, no settling by hand is offered.
    from ticketshop.payments.settle import refresh_payment

    refresh_payment(payment=payment)
    order.refresh_from_db()
    page = client.post(
        reverse(CHANGELIST),
        {"action": "release_unknown_payment", "_selected_action": [order.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Swish is asked to cancel" not in page.text
    assert "none received" not in page.text


# --- Money after a release, or for an order the shop gave up -------------------


def test_a_paid_after_a_release_is_recovered_not_dropped(
    running, client, organiser, buyer, mailoutbox
):
    token, order, payment = running
    forgotten = SimulatedPaymentRequest.objects.get()
    SimulatedPaymentRequest.objects.all().delete()
    act(client, "release_unknown_payment", order)  # Swish: 404
    act(client, "release_unknown_payment", order)  # released by hand
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert SwishPayment.objects.get().status == SwishStatus.CANCELLED

    # Swish knew it after all, and the payer pays: Swish calls back.
    forgotten.save()
    buyer.pay(token)
    scheduler.wait_idle()
    assert callback(buyer, payment).status_code == 200

    payment.refresh_from_db()
    assert payment.status == SwishStatus.PAID
    assert transitions(payment)[-1] == "paid_late"
    order.refresh_from_db()
    # The seats were still free: the order is completed, tickets e-mailed.
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == payment.payment_reference
    assert not order.needs_attention
    assert buyer.status()["status"] == "PAID"
    assert len(mailoutbox) == 1


def test_a_paid_for_a_failed_order_with_seats_free_completes_it(
    running, buyer, mailoutbox
):
    token, order, payment = running
    # The shop gave the order up while the payer was still in Swish.
    Order.objects.update(
        status=OrderStatus.FAILED_EXPIRED_RESERVATION, payment_pending=False
    )
    buyer.pay(token)
    scheduler.wait_idle()

    callback(buyer, payment)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert "pay_late" in transitions_of_order(order)
    body = buyer.status()
    assert body["status"] == "PAID" and len(body["external_ids"]) == 2
    assert [m.to for m in mailoutbox] == [["buyer@example.com"]]
    assert not OutgoingMail.objects.exists()


def transitions_of_order(order: Order) -> list[str]:
    return list(
        StateChange.objects.filter(machine="order", record_id=order.pk)
        .order_by("pk")
        .values_list("transition", flat=True)
    )


@pytest.fixture
def seats_gone(running, buyer, event_and_type, settings):
    """The shop gave the order up and the seats were sold to others; then
    the payer paid."""
    settings.ORGANISER_ALERT_EMAILS = ["kassor@example.org", "ordf@example.org"]
    token, order, payment = running
    event, standard = event_and_type
    Order.objects.update(
        status=OrderStatus.FAILED_EXPIRED_RESERVATION, payment_pending=False
    )
    event.seats = 8
    event.save()
    other = type(buyer)(buyer.base)
    assert other.reserve(event, standard, 8).status_code == 201
    other.http.close()
    buyer.pay(token)
    scheduler.wait_idle()
    callback(buyer, payment)
    order.refresh_from_db()
    payment.refresh_from_db()
    return order, payment


def test_with_the_seats_gone_the_refund_is_proposed_and_organisers_mailed(
    seats_gone, buyer, client, organiser, mailoutbox, settings
):
    order, payment = seats_gone
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert payment.status == SwishStatus.PAID
    # Proposed: flagged, listed, and "Refund via Swish" allowed.
    assert order.needs_attention and "refund" in order.attention_reason
    assert refund_allowed(order)
    listed = client.get(reverse(CHANGELIST) + "?swish=refund")
    assert order.reference in listed.text
    # Each organiser got one e-mail naming the order and the amount.
    alerts = [m for m in mailoutbox if m.to != ["buyer@example.com"]]
    assert sorted(m.to[0] for m in alerts) == settings.ORGANISER_ALERT_EMAILS
    assert all(order.reference in m.subject for m in alerts)
    assert all("300" in m.body and order.reference in m.body for m in alerts)
    # No ticket e-mail: the order was not completed.
    assert not any(m.to == ["buyer@example.com"] for m in mailoutbox)
    # A second callback (Swish retries) mails nobody again.
    callback(buyer, payment)
    assert OutgoingMail.objects.count() == 2

    # The buyer's page says the money arrived and is paid back.
    body = buyer.status()
    assert body["status"] == "FAILED_EXPIRED_RESERVATION"
    assert body["payment_status"] == "PAID"


def test_with_the_seats_gone_the_buyers_pages_say_what_happens_next(seats_gone, buyer):
    order, _ = seats_gone
    pay = buyer.http.get(f"{buyer.base}/pay/", timeout=30)
    link = re.search(r'"payReturn": "([^"]+)"', pay.text).group(1)
    english = requests.get(
        f"{buyer.base}{link}", headers={"Accept-Language": "en"}, timeout=30
    )
    assert "Your payment arrived after the seats were gone" in english.text
    assert "pays the money back to the Swish account you paid from" in english.text
    swedish = requests.get(
        f"{buyer.base}{link}", headers={"Accept-Language": "sv"}, timeout=30
    )
    assert "Din betalning kom efter att platserna tagit slut" in swedish.text
    status = requests.get(f"{buyer.base}{link}status/", timeout=30)
    assert status.json()["state"] == "late"


def test_money_not_accepted_is_counted_in_metrics_and_check_consistency(
    seats_gone, client, settings
):
    import io

    settings.METRICS_TOKEN = "t0ken-t0ken"
    text = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer t0ken-t0ken"
    ).content.decode()
    assert re.search(r"^ticketshop_swish_money_not_accepted 1\.0$", text, re.M)
    out = io.StringIO()
    call_command("check_consistency", stdout=out)
    assert "money not accepted, awaiting a refund: 1 payment(s)" in out.getvalue()


# --- An answer that differs from the request ---------------------------------------


def test_a_mismatched_amount_is_flagged_and_never_applied(
    running, buyer, client, settings
):
    token, order, payment = running
    SimulatedPaymentRequest.objects.update(amount=1)
    buyer.pay(token)
    scheduler.wait_idle()

    assert callback(buyer, payment).status_code == 200

    payment.refresh_from_db()
    assert payment.status == SwishStatus.CREATED
    assert "amount 1.0 (asked 300.00)" in payment.mismatch
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED
    assert order.needs_attention and "differs from the request" in (
        order.attention_reason
    )
    assert buyer.status()["status"] == "RESERVED"
    settings.METRICS_TOKEN = "t0ken-t0ken"
    text = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer t0ken-t0ken"
    ).content.decode()
    assert re.search(r"^ticketshop_swish_mismatches 1\.0$", text, re.M)


def test_reconciliation_finds_money_for_a_released_order_and_completes_it(
    running, buyer, mailoutbox
):
    from ticketshop.payments.reconcile import reconcile_payments

    token, order, payment = running
    buyer.pay(token)  # the callback is lost
    scheduler.wait_idle()
    # The shop had given the order up meanwhile; its request is still open.
    Order.objects.update(
        status=OrderStatus.FAILED_EXPIRED_RESERVATION, payment_pending=False
    )

    reconcile_payments()
    run_worker()

    payment.refresh_from_db()
    assert payment.status == SwishStatus.PAID
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert [m.to for m in mailoutbox] == [["buyer@example.com"]]


def test_money_left_unhandled_by_a_failed_recovery_is_handled_by_reconciliation(
    running, buyer, event_and_type, settings, monkeypatch, mailoutbox
):
    from ticketshop.payments import settle
    from ticketshop.payments.reconcile import reconcile_payments

    settings.ORGANISER_ALERT_EMAILS = ["kassor@example.org"]
    token, order, payment = running
    event, standard = event_and_type
    Order.objects.update(
        status=OrderStatus.FAILED_EXPIRED_RESERVATION, payment_pending=False
    )
    event.seats = 8
    event.save()
    other = type(buyer)(buyer.base)
    assert other.reserve(event, standard, 8).status_code == 201
    other.http.close()
    buyer.pay(token)
    scheduler.wait_idle()

    def died(**kwargs):
        raise RuntimeError("the worker died after recording the PAID")

    monkeypatch.setattr(settle, "recover_unaccepted_payment", died)
    with pytest.raises(RuntimeError):
        settle.refresh_payment(payment=payment)
    monkeypatch.undo()
    payment.refresh_from_db()
    assert payment.status == SwishStatus.PAID
    assert payment.unaccepted_handled_at is None
    assert not OutgoingMail.objects.exists()

    reconcile_payments()
    run_worker()

    payment.refresh_from_db()
    assert payment.unaccepted_handled_at is not None
    assert [m.to for m in mailoutbox] == [["kassor@example.org"]]
    reconcile_payments()
    assert OutgoingMail.objects.count() == 1
