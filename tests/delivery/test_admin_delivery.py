"""Organisers see the delivery state, find unsent orders and resend tickets."""

import pytest
from django.urls import reverse

from ticketshop.delivery.models import TicketDelivery

from .conftest import mark_paid, reserve, run_worker

CHANGELIST = "admin:orders_order_changelist"


@pytest.mark.django_db(transaction=True)
def test_resend_action_sends_the_tickets_again(admin_client, mailoutbox):
    order = mark_paid(reserve())
    run_worker()
    assert len(mailoutbox) == 1

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "resend_tickets_action", "_selected_action": [order.pk]},
        follow=True,
    )
    assert response.status_code == 200
    run_worker()

    assert len(mailoutbox) == 2
    assert mailoutbox[1].to == ["kund@example.org"]
    assert TicketDelivery.objects.get(order=order).times_sent == 2


@pytest.mark.django_db(transaction=True)
def test_resend_action_skips_unpaid_orders(admin_client, mailoutbox):
    unpaid = reserve()

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "resend_tickets_action", "_selected_action": [unpaid.pk]},
        follow=True,
    )
    run_worker()

    assert mailoutbox == []
    assert not TicketDelivery.objects.filter(order=unpaid).exists()
    assert "1 order är inte betald" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_order_page_shows_the_delivery_state(admin_client):
    order = mark_paid(reserve())
    run_worker()

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "Biljettmejl" in content or "biljettmejl" in content
    assert "Skickat" in content
    assert "kund@example.org" in content


@pytest.mark.django_db(transaction=True)
def test_unsent_filter_lists_paid_orders_whose_email_is_not_sent(admin_client):
    sent = mark_paid(reserve())
    run_worker()
    unsent = mark_paid(reserve())  # its task has not run yet
    unpaid = reserve()

    page = admin_client.get(reverse(CHANGELIST), {"ticket_email": "unsent"})

    content = page.content.decode()
    assert page.status_code == 200
    assert unsent.reference in content
    assert sent.reference not in content
    assert unpaid.reference not in content
