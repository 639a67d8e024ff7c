import pytest

from tests.factories import event_with_types
from tests.qr import decode_svg
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signing import verify_payload

pytestmark = pytest.mark.django_db


def read_ticket(svg: bytes) -> tuple[str, int]:
    """What a door scanner reads from the image: the one QR code's signed
    payload, checked with the public key; the ticket id and event it names."""
    (payload,) = decode_svg(svg)
    signed = verify_payload(payload)
    return signed.external_id, signed.event_id


def test_paid_ticket_of_own_order_is_served_as_qr(client, paid_order):
    ticket = paid_order.tickets.first()

    response = client.get(f"/tickets/{ticket.external_id}/qr.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "private, no-store"
    assert read_ticket(response.content) == (ticket.external_id, ticket.event_id)


def test_every_ticket_of_the_order_has_its_qr(client, paid_order):
    ids = list(paid_order.tickets.values_list("external_id", flat=True))

    responses = [client.get(f"/tickets/{i}/qr.svg") for i in ids]

    assert len(set(ids)) == 3
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [read_ticket(r.content)[0] for r in responses] == ids


def test_lower_case_id_finds_the_ticket(client, paid_order):
    ticket = paid_order.tickets.first()

    response = client.get(f"/tickets/{ticket.external_id.lower()}/qr.svg")

    assert response.status_code == 200
    assert read_ticket(response.content) == (ticket.external_id, ticket.event_id)


def test_unpaid_order_gets_no_qr(client, reserve):
    event, (ticket_type, _) = event_with_types()
    order = reserve(event, [(ticket_type, 1)])

    response = client.get(f"/tickets/{order.tickets.first().external_id}/qr.svg")

    assert response.status_code == 404


def test_ticket_of_another_order_gets_no_qr(client, paid_order, reserve):
    other_client_order = paid_order
    foreign = other_client_order.tickets.first().external_id
    # The test client now holds a new, paid order of its own.
    event, (ticket_type, _) = event_with_types()
    mine = reserve(event, [(ticket_type, 1)])
    Order.objects.filter(pk=mine.pk).update(status=OrderStatus.PAID)

    response = client.get(f"/tickets/{foreign}/qr.svg")

    assert response.status_code == 404
    assert (
        client.get(f"/tickets/{mine.tickets.first().external_id}/qr.svg").status_code
        == 200
    )


def test_no_session_gets_no_qr(client, paid_order):
    ticket = paid_order.tickets.first()
    client.cookies.clear()

    response = client.get(f"/tickets/{ticket.external_id}/qr.svg")

    assert response.status_code == 404


def test_cancelled_order_gets_no_qr(client, paid_order):
    Order.objects.filter(pk=paid_order.pk).update(status=OrderStatus.FAILED_ADMIN)

    response = client.get(f"/tickets/{paid_order.tickets.first().external_id}/qr.svg")

    assert response.status_code == 404
