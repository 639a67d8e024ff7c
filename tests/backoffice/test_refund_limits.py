"""Refunds Swish would refuse or that hang: a payment older than Swish
refunds is refused before anything is sent, with a sentence saying why and
what to do instead (Swedish and English); refunds Swish took but has not
paid back are shown as stuck in the back office and counted in /metrics; a
bulk refund of more than a hundred orders is queued spread out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.delivery.conftest import run_worker
from tests.payments.conftest import (  # noqa: F401
    buyer,
    swish,
    swish_without_worker,
    wait_for,
)
from ticketshop.backoffice import services
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.errors import RefundTooLate
from ticketshop.payments.models import (
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)
from ticketshop.payments.refunds import _months_before, refund_too_late
from ticketshop.swish_simulator.models import SimulatedRefund

from .conftest import previewed

pytestmark = pytest.mark.django_db(transaction=True)

TOO_LATE_EN = "Swish pays back only payments of the last 12 months, and this one"
TOO_LATE_SV = "Swish betalar bara tillbaka betalningar från de senaste 12 månaderna"


def paid_by_swish(buyer, event, ticket_type) -> Order:  # noqa: F811
    token = buyer.reserved_and_started(event, ticket_type, count=2)
    assert buyer.pay(token).status_code == 200
    return wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())


def paid_long_ago(order: Order, *, days: int) -> SwishPayment:
    payment = SwishPayment.objects.get(order=order, status=SwishStatus.PAID)
    SwishPayment.objects.filter(pk=payment.pk).update(
        date_paid=timezone.now() - timedelta(days=days)
    )
    payment.refresh_from_db()
    return payment


def test_the_age_limit_counts_calendar_months():
    now = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)
    assert _months_before(now, 12) == datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert _months_before(now, 1) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert _months_before(now, 13) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)


def test_a_refund_of_a_payment_older_than_twelve_months_is_refused_unsent(
    buyer,  # noqa: F811
    show,
    organiser,
    client,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    payment = paid_long_ago(order, days=330)  # eleven months: still refundable
    assert refund_too_late(payment) is None
    payment = paid_long_ago(order, days=370)
    assert isinstance(refund_too_late(payment), RefundTooLate)

    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert TOO_LATE_EN in html
    assert "Pay the buyer back another way (a bank transfer)" in html
    assert timezone.localdate(payment.date_paid).isoformat() in html
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="sv")
    assert TOO_LATE_SV in page.content.decode()
    assert "Betala tillbaka till köparen på annat sätt" in page.content.decode()

    # A "Yes" sent anyway changes nothing.
    tickets = list(order.tickets.values_list("pk", flat=True))
    _, confirmed = previewed(client, url, {"ticket": tickets})
    client.post(url, confirmed)
    with pytest.raises(RefundTooLate):
        services.cancel_order(user=organiser, order_id=order.pk)
    with pytest.raises(RefundTooLate):
        services.refund_via_swish(user=organiser, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not SwishRefund.objects.exists()
    assert order.tickets.filter(cancelled_at__isnull=True).count() == 2

    # The admin's "Refund via Swish" says why on its confirmation page.
    changelist = reverse("admin:orders_order_changelist")
    page = client.post(
        changelist,
        {"action": "refund_via_swish", "_selected_action": [order.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert TOO_LATE_EN in page.content.decode()


def stuck_count(client) -> float:
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken").content.decode()
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("ticketshop_swish_refunds_stuck ")
    ]
    return float(line.split()[1])


def test_a_refund_swish_took_but_has_not_paid_back_is_shown_stuck(
    buyer,  # noqa: F811
    show,
    organiser,
    client,
    settings,
):
    settings.METRICS_TOKEN = "t0ken"
    settings.SWISH_REFUND_STUCK_HOURS = 24
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    # Swish takes the refund (CREATED) and then says nothing more.
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = True
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 3600
    services.refund_via_swish(user=organiser, order_id=order.pk)
    run_worker()
    refund = SwishRefund.objects.get()
    assert refund.status == RefundStatus.CREATED
    client.force_login(organiser)
    dashboard = reverse("admin:backoffice_dashboard")
    refunds = reverse("admin:backoffice_refunds")

    # A young refund is not stuck.
    assert stuck_count(client) == 0
    assert 'id="refunds-stuck"' not in client.get(dashboard).content.decode()

    SwishRefund.objects.filter(pk=refund.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert stuck_count(client) == 1
    html = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert (
        "1 refund taken by Swish has not been paid back after 24 hours: ask "
        "Swish or the bank where the money is."
    ) in html
    html = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert (
        "1 återbetalning som Swish tagit emot har inte betalats tillbaka efter "
        "24 timmar"
    ) in html
    page = client.get(refunds, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="refunds-stuck"' in page
    assert refund.refund_id in page and order.reference in page
    assert "<strong>stuck</strong>" in page

    # Paid back at last: no longer stuck.
    from ticketshop.payments.services import refresh_refund

    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 0
    SimulatedRefund.objects.update(due_at=timezone.now())
    refresh_refund(refund=refund)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PAID, refund.status
    assert stuck_count(client) == 0


def test_refunds_beyond_the_burst_are_queued_each_for_its_own_turn(
    buyer,  # noqa: F811
    show,
    client,
    settings,
    monkeypatch,
):
    """The admin's bulk "Refund via Swish" (an event cancelled: every order
    selected): beyond REFUND_BURST refunds waiting to be sent, each send
    task is due SWISH_REFUND_SPACING_SECONDS after the one before, instead
    of every worker taking one at once to wait for the send slot."""
    from django.contrib.auth.models import User
    from django_tasks_db.models import DBTaskResult, get_date_max

    from tests.admin_actions import confirmed
    from ticketshop.payments import refunds
    from ticketshop.payments.tasks import send_refund_task

    event, (standard, _) = show
    orders = []
    for _ in range(4):
        buyer.http.cookies.clear()
        known = list(Order.objects.values_list("pk", flat=True))
        token = buyer.reserved_and_started(event, standard, count=1)
        assert buyer.pay(token).status_code == 200
        orders.append(
            wait_for(
                lambda known=known: (
                    Order.objects.filter(status=OrderStatus.PAID)
                    .exclude(pk__in=known)
                    .first()
                )
            )
        )
    monkeypatch.setattr(refunds, "REFUND_BURST", 2)  # a hundred in the shop
    settings.SWISH_REFUND_SPACING_SECONDS = 30.0
    client.force_login(User.objects.create_superuser("o", "o@example.org", "pw"))
    changelist = reverse("admin:orders_order_changelist")
    chosen = {"action": "refund_via_swish", "_selected_action": [o.pk for o in orders]}
    before = timezone.now()
    assert (
        client.post(changelist, confirmed(client, changelist, chosen)).status_code
        == 302
    )

    tasks = DBTaskResult.objects.filter(
        task_path=send_refund_task.module_path
    ).order_by("run_after")
    delays = sorted(
        0.0
        if t.run_after == get_date_max()  # no run_after: due at once
        else (t.run_after - before).total_seconds()
        for t in tasks
    )
    assert len(delays) == 4
    # The first two at once (the send slot spaces them), then 60 s and 90 s:
    # each after the refunds queued before it.
    assert delays[0] < 5 and delays[1] < 5, delays
    assert 60 <= delays[2] < 65 and 90 <= delays[3] < 95, delays

    # A worker now sends only what is due: the two of the burst.
    run_worker()
    sent = SwishRefund.objects.filter(sent_at__isnull=False).count()
    assert sent == 2
