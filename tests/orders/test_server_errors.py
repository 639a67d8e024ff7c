import logging

import pytest

from tests.factories import event_with_types
from ticketshop.orders import views
from ticketshop.orders.models import Order

pytestmark = pytest.mark.django_db


def test_unexpected_error_is_a_logged_500_and_writes_nothing(
    post_json, monkeypatch, caplog
):
    event, (standard, _) = event_with_types()

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(views, "reserve_tickets", broken)
    with caplog.at_level(logging.ERROR, logger="ticketshop.api"):
        response = post_json(
            "/reserve_ticket/",
            {
                "chapter_event": event.id,
                "tickets": [{"ticket_type": standard.id, "count": 1}],
            },
        )
    assert response.status_code == 500
    assert not Order.objects.exists()
    (record,) = [r for r in caplog.records if r.name == "ticketshop.api"]
    assert "ReserveTicketView" in record.getMessage()
    assert "/reserve_ticket/" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
