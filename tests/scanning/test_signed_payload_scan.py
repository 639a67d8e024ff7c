"""validate_ticket takes a bare id or the whole signed payload of a QR code."""

import pytest

from ticketshop.orders.signing import private_key_from_text, sign_ticket
from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import paid_ticket
from .test_signing import VECTORS

pytestmark = pytest.mark.django_db


def payload_of(ticket, **kwargs):
    return sign_ticket(
        external_id=ticket.external_id, event_id=ticket.event_id, **kwargs
    )


def test_signed_payload_admits_its_ticket(scan):
    ticket = paid_ticket()

    response = scan(payload_of(ticket))

    assert response.status_code == 200
    assert response.json()["external_id"] == ticket.external_id
    assert response.json()["admitted"] is True
    ticket.refresh_from_db()
    assert ticket.times_used == 1
    assert ScanLog.objects.get().external_id == ticket.external_id


def test_bare_id_still_works(scan):
    ticket = paid_ticket()

    assert scan(ticket.external_id.lower()).json()["admitted"] is True


def test_payload_signed_with_another_key_is_an_unknown_ticket(scan):
    ticket = paid_ticket()
    forged = payload_of(ticket, key=private_key_from_text(VECTORS["other_private_key"]))

    response = scan(forged)

    assert response.status_code == 404
    assert response.json() == {"times_used": -1, "status": "Ticket does not exist"}
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    log = ScanLog.objects.get()
    assert log.result == ScanResult.UNKNOWN
    assert log.external_id == forged[:64]


@pytest.mark.parametrize("position", [5, 9, 20, -1])
def test_payload_altered_by_one_character_is_refused(scan, position):
    ticket = paid_ticket()
    payload = payload_of(ticket)
    index = position % len(payload)
    swapped = "B" if payload[index] != "B" else "C"
    altered = payload[:index] + swapped + payload[index + 1 :]

    response = scan(altered)

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.times_used == 0
