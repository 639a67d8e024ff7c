from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def reserve(post_json, event, ticket_type, count=1):
    response = post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": ticket_type.id, "count": count}],
        },
    )
    assert response.status_code == 201


def test_without_a_reservation_the_session_is_invalid(client):
    for path in ("/session_payment_status/", "/session_payment_status"):
        response = client.get(path)
        assert response.status_code == 400
        assert response.json() == "InvalidSession"


def test_reserved_order_reports_its_lines_total_and_expiry(client, post_json):
    event, (standard, student) = event_with_types()
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [
                {"ticket_type": standard.id, "count": 2},
                {"ticket_type": student.id, "count": 1},
            ],
        },
    )

    body = client.get("/session_payment_status/").json()

    assert body["status"] == "RESERVED"
    assert body["mail"] is None
    assert body["chapter_event"] == event.id
    assert body["total_price"] == "497"
    assert body["tickets"] == [
        {"ticket_type": standard.id, "count": 2},
        {"ticket_type": student.id, "count": 1},
    ]
    assert "external_ids" not in body
    order = Order.objects.get()
    assert body["expires_at"] == timezone.localtime(order.expires_at).isoformat()


def test_lapsed_hold_reads_failed_at_once(client, post_json):
    event, (standard, _) = event_with_types()
    reserve(post_json, event, standard)
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get("/session_payment_status/").json()["status"] == (
        "FAILED_EXPIRED_RESERVATION"
    )


def test_lapsed_hold_with_payment_in_progress_stays_reserved(client, post_json):
    event, (standard, _) = event_with_types()
    reserve(post_json, event, standard)
    Order.objects.update(
        expires_at=timezone.now() - timedelta(seconds=1), payment_pending=True
    )
    assert client.get("/session_payment_status/").json()["status"] == "RESERVED"


def test_paid_order_lists_its_external_ids(client, post_json):
    event, (standard, _) = event_with_types()
    reserve(post_json, event, standard, count=2)
    order = Order.objects.get()
    Order.objects.update(
        status=OrderStatus.PAID,
        email="buyer@example.com",
        payment_reference="ABC123",
        paid_at=timezone.now(),
    )

    body = client.get("/session_payment_status/").json()

    assert body["status"] == "PAID"
    assert body["mail"] == "buyer@example.com"
    assert body["reference"] == "ABC123"
    assert sorted(body["external_ids"]) == sorted(
        order.tickets.values_list("external_id", flat=True)
    )
