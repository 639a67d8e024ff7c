"""Complimentary and manual tickets: counted against the seats, beyond them
only by an explicit choice that is logged, e-mailed with or without receipt."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.delivery.conftest import run_worker
from ticketshop.backoffice.models import AuditEntry
from ticketshop.delivery.models import TicketDelivery
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.orders.seats import count_live_tickets

from .conftest import issue

pytestmark = pytest.mark.django_db(transaction=True)


def live(event):
    from django.utils import timezone

    return count_live_tickets(event_ids=[event.pk], now=timezone.now()).get(event.pk, 0)


def test_complimentary_order_within_capacity_is_paid_counted_mailed_and_logged(
    organiser, show, mailoutbox
):
    event, (standard, student) = show
    order = issue(organiser, event, {standard.pk: 2, student.pk: 1})

    assert order.status == OrderStatus.PAID
    assert order.payment_method == PaymentMethod.COMPLIMENTARY
    assert order.total_price == 0
    assert order.tickets.count() == 3
    assert live(event) == 3
    entry = AuditEntry.objects.get(order=order)
    assert entry.action == "issue" and entry.username == "organiser"
    assert entry.after["allow_over_capacity"] is False
    assert len(entry.after["tickets"]) == 3

    run_worker()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["asa@example.org"]
    text = message.body
    for ticket in order.tickets.all():
        assert ticket.external_id in text
    assert "Kvitto" in text or "Receipt" in text


def test_without_receipt_the_email_has_no_receipt(organiser, show, mailoutbox):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1}, receipt=False)
    assert TicketDelivery.objects.get(order=order).with_receipt is False
    run_worker()
    assert len(mailoutbox) == 1
    assert "Kvitto" not in mailoutbox[0].body
    assert "Receipt" not in mailoutbox[0].body


def test_beyond_capacity_is_refused_unless_chosen_and_then_logged(organiser, show):
    event, (standard, _) = show
    issue(organiser, event, {standard.pk: 9})
    with pytest.raises(OutOfTickets):
        issue(organiser, event, {standard.pk: 2})
    assert live(event) == 9
    assert Order.objects.count() == 1

    over = issue(organiser, event, {standard.pk: 2}, allow_over_capacity=True)
    assert over.status == OrderStatus.PAID
    assert live(event) == 11
    entry = AuditEntry.objects.get(order=over)
    assert entry.after["allow_over_capacity"] is True
    assert "beyond capacity" in entry.summary or "utöver" in entry.summary


def test_cash_order_at_a_chosen_price_records_method_and_total(organiser, show):
    event, (standard, student) = show
    order = issue(
        organiser,
        event,
        {standard.pk: 1, student.pk: 2},
        method=PaymentMethod.CASH,
        prices={standard.pk: Decimal("150"), student.pk: Decimal("50")},
    )
    assert order.payment_method == PaymentMethod.CASH
    assert order.total_price == Decimal("250")
    assert sorted(order.tickets.values_list("price", flat=True)) == [50, 50, 150]


def test_issue_page_refuses_over_capacity_then_issues_when_ticked(
    client, organiser, show
):
    event, (standard, _) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    assert client.get(url).status_code == 200
    form = {
        f"count_{offer.pk}": "12",
        "name": "Gäst",
        "email": "gast@example.org",
        "method": "COMPLIMENTARY",
        "receipt": "on",
    }
    refused = client.post(url, form)
    assert refused.status_code == 400
    assert Order.objects.count() == 0
    done = client.post(url, {**form, "over_capacity": "on"})
    assert done.status_code == 302
    order = Order.objects.get()
    assert order.ticket_count == 12 and order.name == "Gäst"


def test_issue_page_answers_bad_input_with_400_not_500(client, organiser, show):
    event, (standard, _) = show
    offer = event.offers.get(ticket_type=standard)
    client.force_login(organiser)
    url = reverse("admin:backoffice_issue", args=[event.pk])
    for form in [
        {},
        {f"count_{offer.pk}": "x", "name": "A", "email": "a@example.org"},
        {f"count_{offer.pk}": "1", "name": "A", "email": "nope", "method": "CASH"},
        {
            f"count_{offer.pk}": "1",
            "name": "A",
            "email": "a@example.org",
            "method": "CASH",
            f"price_{offer.pk}": "abc",
        },
        {f"count_{offer.pk}": "1", "name": "A", "email": "a@e.org", "method": "SWISH"},
    ]:
        assert client.post(url, form).status_code == 400, form
    assert Order.objects.count() == 0
