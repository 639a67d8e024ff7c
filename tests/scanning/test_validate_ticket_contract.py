"""Every row of the contract's PUT /validate_ticket/ table."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ticketshop.orders.models import OrderStatus
from ticketshop.scanning.models import ScanLog

from .factories import SCANNER_PASSWORD, paid_ticket

pytestmark = pytest.mark.django_db


def put_raw(body: bytes | str, path="/validate_ticket/"):
    return APIClient().generic("PUT", path, body, content_type="application/json")


def test_found_ticket_answers_200_with_contract_keys_and_extras(scan):
    ticket = paid_ticket()

    response = scan(ticket.external_id, use_ticket=True)

    assert response.status_code == 200
    body = response.json()
    assert {
        key: body[key]
        for key in ("external_id", "times_used", "chapter_event", "status")
    } == {
        "external_id": ticket.external_id,
        "times_used": 0,
        "chapter_event": ticket.event.title,
        "status": OrderStatus.PAID,
    }
    assert body["ticket_type_title"] == ticket.ticket_type.title
    assert body["admitted"] is True


def test_event_start_is_in_the_configured_time_zone(scan):
    ticket = paid_ticket()

    body = scan(ticket.external_id, use_ticket=False).json()

    assert body["event_at"] == timezone.localtime(ticket.event.event_at).isoformat()


@pytest.mark.parametrize(
    "path",
    ["/validate_ticket/", "/validate_ticket", "/validate_ticket/?format=json"],
)
def test_path_is_served_with_and_without_slash(scanner_account, path):
    ticket = paid_ticket()
    body = (
        f'{{"external_id": "{ticket.external_id}", '
        f'"password": "{SCANNER_PASSWORD}", "use_ticket": false}}'
    )

    response = put_raw(body, path=path)

    assert response.status_code == 200
    assert response.json()["times_used"] == 0


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '"AB3CDE"',
        "null",
        '{"password": "p", "use_ticket": true}',
        '{"external_id": "AB3CDE", "use_ticket": true}',
        '{"external_id": "AB3CDE", "password": "p"}',
        '{"external_id": "AB3CDE", "password": "p", "use_ticket": "true"}',
        '{"external_id": "AB3CDE", "password": "p", "use_ticket": 1}',
        '{"external_id": "AB3CDE", "password": "p", "use_ticket": null}',
        '{"external_id": 123456, "password": "p", "use_ticket": true}',
        '{"external_id": null, "password": "p", "use_ticket": true}',
        '{"external_id": "AB3CDE", "password": 5, "use_ticket": true}',
    ],
)
def test_malformed_body_is_invalid_request_data(scanner_account, body):
    response = put_raw(body)

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not ScanLog.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", ""]
)
def test_json_sent_with_another_content_type_is_invalid_request_data(
    scanner_account, content_type
):
    ticket = paid_ticket()
    body = (
        f'{{"external_id": "{ticket.external_id}", '
        f'"password": "{SCANNER_PASSWORD}", "use_ticket": true}}'
    )

    response = APIClient().generic(
        "PUT", "/validate_ticket/", body, content_type=content_type
    )

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    assert not ScanLog.objects.exists()


def test_unknown_extra_keys_are_ignored(scan):
    ticket = paid_ticket()

    response = APIClient().put(
        "/validate_ticket/",
        {
            "external_id": ticket.external_id,
            "password": SCANNER_PASSWORD,
            "use_ticket": False,
            "scanner_version": 3,
        },
        format="json",
    )

    assert response.status_code == 200


def test_wrong_password_is_401_incorrect_password(scan):
    ticket = paid_ticket()

    response = scan(ticket.external_id, password="not the password")

    assert response.status_code == 401
    assert response.json() == "Incorrect password"
    ticket.refresh_from_db()
    assert ticket.times_used == 0


def test_unknown_id_is_404_with_times_used_minus_one(scan):
    paid_ticket()

    response = scan("ZZZZZZ")

    assert response.status_code == 404
    assert response.json() == {"times_used": -1, "status": "Ticket does not exist"}


def test_empty_id_is_404(scan):
    response = scan("   ")

    assert response.status_code == 404
    assert response.json() == {"times_used": -1, "status": "Ticket does not exist"}


def test_too_many_wrong_passwords_is_429_too_many_attempts(scan):
    ticket = paid_ticket()
    for _ in range(10):
        assert scan(ticket.external_id, password="guess").status_code == 401

    response = scan(ticket.external_id)

    assert response.status_code == 429
    assert response.json() == "TooManyAttempts"
    assert 1 <= int(response["Retry-After"]) <= 60
