"""The history rows an organiser's action leaves on the order: the same from
the order admin and from the back office, named after the organiser.

The order's own machine writes these rows (``StateChange``, machine
"order"); until it does, these tests fail: they wait for it.
"""

import pytest
from django.urls import reverse

from tests.admin_actions import confirmed
from ticketshop.backoffice import services
from ticketshop.orders.models import Order, PaymentMethod
from ticketshop.statemachine.models import StateChange

from .conftest import issue, previewed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(organiser):
    organiser.is_superuser = True
    organiser.save()
    return organiser


def history(order: Order) -> list[tuple[str, str, str, str]]:
    """The order's rows written after it was issued."""
    rows = StateChange.objects.filter(machine="order", record_id=order.pk).order_by(
        "at", "id"
    )
    return [
        (r.transition, r.from_state, r.to_state, r.actor)
        for r in rows
        if r.transition != "issue"
    ]


def test_cancel_leaves_the_same_history_from_both_surfaces(show, staff, client):
    event, (standard, _) = show
    by_admin = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    by_page = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    client.force_login(staff)

    changelist = reverse("admin:orders_order_changelist")
    chosen = {"action": "cancel_orders", "_selected_action": [by_admin.pk]}
    client.post(changelist, confirmed(client, changelist, chosen))
    url = reverse("admin:backoffice_cancel", args=[by_page.pk])
    tickets = list(by_page.tickets.values_list("pk", flat=True))
    _page, form = previewed(client, url, {"ticket": tickets})
    client.post(url, form)

    expected = [("cancel_paid", "PAID", "FAILED_ADMIN", "staff:organiser")]
    assert history(by_admin) == expected
    assert history(by_page) == expected


def test_a_use_case_names_its_organiser_in_the_history(show, staff):
    event, (standard, _) = show
    order = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)

    services.cancel_tickets(
        user=staff, order_id=order.pk, ticket_ids=[order.tickets.first().pk]
    )

    assert history(order) == [("cancel_tickets", "PAID", "PAID", "staff:organiser")]
