"""Cancel and refund: whole orders and single tickets, a confirmation page,
Swish refunds through the simulator, the buyer's e-mail, failures visible
and retryable."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.delivery.conftest import run_worker
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.backoffice import services
from ticketshop.backoffice.models import AuditEntry, OutgoingMail
from ticketshop.orders.models import Order, OrderStatus, RefundState, Ticket
from ticketshop.payments.models import RefundStatus, SwishRefund
from ticketshop.payments.services import refresh_refund
from ticketshop.swish_simulator.models import SimulatedRefund

from .conftest import issue, previewed

pytestmark = pytest.mark.django_db(transaction=True)


def paid_by_swish(buyer, event, ticket_type, count=3) -> Order:  # noqa: F811
    token = buyer.reserved_and_started(event, ticket_type, count=count)
    assert buyer.pay(token).status_code == 200
    return wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())


def test_cancelling_one_ticket_of_three_refunds_its_price_through_swish(
    buyer,  # noqa: F811
    show,
    organiser,
    client,
    mailoutbox,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    assert order.total_price == Decimal("597.00")
    first, *rest = order.tickets.order_by("pk")
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])

    # The confirmation page says what happens, and changes nothing.
    page, confirmed = previewed(client, url, {"ticket": [first.pk]})
    assert page.status_code == 200
    html = page.content.decode()
    assert "199" in html and first.external_id in html
    assert "Swish" in html
    assert Ticket.objects.get(pk=first.pk).cancelled_at is None
    assert not SwishRefund.objects.exists()

    done = client.post(url, confirmed)
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.ticket_count == 2
    assert order.total_price == Decimal("398.00")
    assert Ticket.objects.get(pk=first.pk).cancelled_at is not None
    assert all(Ticket.objects.get(pk=t.pk).cancelled_at is None for t in rest)
    refund = SwishRefund.objects.get()
    assert refund.amount == Decimal("199.00")
    assert refund.requested_by == "organiser"
    # Recorded with the decision, and sent by the task worker.
    assert refund.status == RefundStatus.CREATING
    assert not SimulatedRefund.objects.exists()
    run_worker()
    # The simulator got it and pays it back.
    assert SimulatedRefund.objects.get().amount == Decimal("199.00")
    refresh_refund(refund=refund)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PAID
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED

    entry = AuditEntry.objects.get(order=order, action="cancel_tickets")
    assert first.external_id in entry.summary
    assert len(entry.before["tickets"]) == 3 and len(entry.after["tickets"]) == 2

    mail = OutgoingMail.objects.get(order=order)
    assert mail.recipient == "buyer@example.com"
    run_worker()
    notices = [m for m in mailoutbox if first.external_id in m.body]
    assert len(notices) == 1
    assert "199" in notices[0].body


def test_cancelling_a_complimentary_order_frees_seats_without_refund(
    organiser, show, mailoutbox
):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 2})
    assert services.cancel_order(user=organiser, order_id=order.pk) == []
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_ADMIN
    assert order.refund_state == RefundState.NONE
    assert not SwishRefund.objects.exists()
    assert AuditEntry.objects.filter(order=order, action="cancel").count() == 1
    run_worker()
    subjects = [m.subject for m in mailoutbox]
    assert any(order.reference in s for s in subjects)


def test_a_refund_that_failed_is_listed_and_retried(
    buyer,  # noqa: F811
    show,
    organiser,
    client,
    settings,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard, count=2)
    # The refund fails at Swish (ERROR FF10, a bank system error).
    settings.SWISH_SIMULATOR_FAIL_REFUND = "FF10"
    services.cancel_order(user=organiser, order_id=order.pk)
    run_worker()  # sends the refund
    settings.SWISH_SIMULATOR_FAIL_REFUND = ""
    refund = SwishRefund.objects.get()
    # The shop asks, later, and hears that it failed.
    refresh_refund(refund=refund, now=timezone.now() + timedelta(hours=1))
    refund.refresh_from_db()
    assert refund.status == RefundStatus.ERROR and refund.error_code == "FF10"
    order.refresh_from_db()
    assert order.refund_state == RefundState.FAILED
    assert order.needs_attention

    client.force_login(organiser)
    listing = client.get(reverse("admin:backoffice_refunds"))
    assert order.reference in listing.content.decode()
    retry = client.post(reverse("admin:backoffice_retry_refund", args=[order.pk]))
    assert retry.status_code == 302
    run_worker()  # sends the retry
    assert SimulatedRefund.objects.exclude(status="ERROR").get().amount == Decimal(
        "398.00"
    )
    new = SwishRefund.objects.exclude(pk=refund.pk).get()
    refresh_refund(refund=new)
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED
    assert not order.needs_attention
    assert AuditEntry.objects.filter(order=order, action="retry_refund").exists()


def test_the_confirmation_page_changes_nothing_until_confirmed(client, organiser, show):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 2})
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    assert client.get(url).status_code == 200
    both = {"ticket": [t.pk for t in order.tickets.all()]}
    page, confirmed = previewed(client, url, both)
    assert page.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert client.post(url, confirmed).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED_ADMIN
    # The order's page lists what was done to it (in the words of the
    # organiser's language at the time: Swedish here).
    page = client.get(
        reverse("admin:orders_order_change", args=[order.pk])
    ).content.decode()
    assert f"Avbokade order {order.reference}" in page
    assert "Utfärdade 2 biljetter" in page


@pytest.mark.parametrize(
    ("language", "subject"), [("en", "Cancelled: "), ("sv", "Avbokat: ")]
)
def test_the_cancellation_notice_is_in_the_buyers_language(
    organiser, show, mailoutbox, language, subject
):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1})
    Order.objects.filter(pk=order.pk).update(language=language)
    # The organiser works in Swedish; the buyer shopped in `language`.
    with translation.override("sv"):
        services.cancel_order(user=organiser, order_id=order.pk)
    run_worker()
    (notice,) = [m for m in mailoutbox if order.reference in m.subject]
    assert notice.subject.startswith(subject)
