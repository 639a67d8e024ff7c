"""A database that is down or restarting answers 503 "Busy", never 500."""

import pytest
from django.db import InterfaceError, OperationalError

from tests.delivery.conftest import reserve

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "error", [OperationalError("connection refused"), InterfaceError("closed")]
)
def test_api_view_answers_busy_with_retry_after(client, monkeypatch, error):
    from ticketshop.orders import views

    def down(**kwargs):
        raise error

    monkeypatch.setattr(views, "reserve_tickets", down)
    order = reserve()
    body = {
        "chapter_event": str(order.event_id),
        "tickets": [
            {"ticket_type": str(order.tickets.first().ticket_type_id), "count": 1}
        ],
    }
    response = client.post("/reserve_ticket/", body, content_type="application/json")
    assert response.status_code == 503
    assert response.json() == "Busy"
    assert response["Retry-After"] == "2"


def test_other_database_errors_stay_500(client, monkeypatch):
    from django.db import IntegrityError

    from ticketshop.orders import views

    def broken(**kwargs):
        raise IntegrityError("a bug, not an outage")

    monkeypatch.setattr(views, "reserve_tickets", broken)
    order = reserve()
    body = {
        "chapter_event": str(order.event_id),
        "tickets": [
            {"ticket_type": str(order.tickets.first().ticket_type_id), "count": 1}
        ],
    }
    response = client.post("/reserve_ticket/", body, content_type="application/json")
    assert response.status_code == 500


def test_a_page_answers_busy_too(client, monkeypatch):
    from ticketshop.shop import views

    def down(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(views, "get_session_order", down)
    response = client.get("/tickets/ABCDEF/qr.svg")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
