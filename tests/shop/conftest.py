import pytest

from tests.factories import event_with_types
from ticketshop.orders.models import Order, OrderStatus


@pytest.fixture
def reserve(post_json):
    """Reserve tickets through the public API with the test client's session."""

    def reserve(event, lines):
        response = post_json(
            "/reserve_ticket/",
            {
                "chapter_event": event.id,
                "tickets": [{"ticket_type": t.id, "count": n} for t, n in lines],
            },
        )
        assert response.status_code == 201, response.content
        return Order.objects.order_by("-id").first()

    return reserve


@pytest.fixture
def paid_order(reserve):
    """A session (the test client's) whose order of three tickets is paid."""
    event, (standard, student) = event_with_types(prices=("199", "99"))
    order = reserve(event, [(standard, 2), (student, 1)])
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PAID, email="buyer@example.com", payment_reference="REF1"
    )
    order.refresh_from_db()
    return order
