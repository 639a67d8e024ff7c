import logging

import pytest

from tests.factories import event_with_types
from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_unexpected_error_is_a_logged_500_and_writes_nothing(
    post_json, monkeypatch, caplog
):
    """An error after the order and its tickets were inserted, inside the
    reservation's transaction: the answer is a logged 500 and the insert is
    rolled back."""
    event, (standard, _) = event_with_types()
    inserted = []
    reserve = lifecycle.reserve

    def insert_then_fail(**kwargs):
        order = reserve(**kwargs)
        inserted.append(
            (
                Order.objects.filter(pk=order.pk).exists(),
                Ticket.objects.filter(order_id=order.pk).count(),
            )
        )
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lifecycle, "reserve", insert_then_fail)
    with caplog.at_level(logging.ERROR, logger="ticketshop.api"):
        response = post_json(
            "/reserve_ticket/",
            {
                "chapter_event": event.id,
                "tickets": [{"ticket_type": standard.id, "count": 2}],
            },
        )
    assert response.status_code == 500
    assert inserted == [(True, 2)]  # written inside the transaction ...
    assert not Order.objects.exists()  # ... and rolled back
    assert not Ticket.objects.exists()
    (record,) = [r for r in caplog.records if r.name == "ticketshop.api"]
    assert "ReserveTicketView" in record.getMessage()
    assert "/reserve_ticket/" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
