"""Only paid orders get tickets."""

import pytest

from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.orders.models import Order, OrderStatus

from .conftest import mark_paid, reserve, run_worker


@pytest.mark.django_db(transaction=True)
def test_order_cancelled_before_the_worker_runs_gets_no_email(mailoutbox):
    order = mark_paid(reserve())
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED_ADMIN)

    run_worker()

    assert mailoutbox == []
    assert TicketDelivery.objects.get(order=order).status == DeliveryStatus.NOT_PAID
