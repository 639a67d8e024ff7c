"""Every request past the password check is logged: who, when, which ticket, result."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ticketshop.orders.models import OrderStatus
from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import paid_ticket, ticket_with_status

pytestmark = pytest.mark.django_db


def test_admitting_scan_is_logged_with_scanner_ticket_and_count(scan, scanner_account):
    ticket = paid_ticket()
    before = timezone.now()

    scan(f" {ticket.external_id.lower()} ", REMOTE_ADDR="192.0.2.8")
    scan(ticket.external_id)

    first, second = ScanLog.objects.order_by("id")
    assert first.scanner == scanner_account
    assert first.scanner_name == scanner_account.name
    assert before <= first.scanned_at <= timezone.now()
    assert first.external_id == ticket.external_id.lower()  # as scanned
    assert first.ticket == ticket
    assert first.event == ticket.event
    assert first.use_requested is True
    assert first.result == ScanResult.ADMITTED
    assert first.times_used_before == 0
    assert first.client_address == "192.0.2.8"
    assert second.times_used_before == 1


@pytest.mark.parametrize(
    ("make", "use_ticket", "result"),
    [
        (paid_ticket, False, ScanResult.VALID),
        (lambda: ticket_with_status(OrderStatus.RESERVED), True, ScanResult.NOT_PAID),
        (
            lambda: ticket_with_status(OrderStatus.FAILED_ADMIN),
            False,
            ScanResult.NOT_PAID,
        ),
    ],
)
def test_each_outcome_is_logged(scan, make, use_ticket, result):
    ticket = make()

    scan(ticket.external_id, use_ticket=use_ticket)

    log = ScanLog.objects.get()
    assert (log.result, log.use_requested, log.ticket) == (result, use_ticket, ticket)


def test_unknown_id_is_logged_without_ticket(scan):
    scan("nope42")

    log = ScanLog.objects.get()
    assert (log.result, log.external_id, log.ticket, log.event) == (
        ScanResult.UNKNOWN,
        "nope42",
        None,
        None,
    )


def test_wrong_password_and_throttled_requests_are_not_logged(scan):
    ticket = paid_ticket()
    for _ in range(11):
        scan(ticket.external_id, password="wrong")

    assert not ScanLog.objects.exists()


def test_very_long_id_is_logged_truncated(scan):
    response = scan("X" * 500)

    assert response.status_code == 404
    assert ScanLog.objects.get().external_id == "X" * 64


def test_log_survives_a_deleted_account(scan, scanner_account):
    scan(paid_ticket().external_id)

    scanner_account.delete()

    log = ScanLog.objects.get()
    assert log.scanner is None
    assert log.scanner_name == scanner_account.name


def test_scan_time_comes_from_the_service_clock():
    from ticketshop.scanning.credentials import Scanner
    from ticketshop.scanning.services import validate_ticket

    ticket = paid_ticket()
    then = timezone.now() - timedelta(days=2)

    validate_ticket(
        scanner=Scanner(account_id=None, name="x", event_ids=None),
        external_id=ticket.external_id,
        use_ticket=False,
        now=then,
    )

    assert ScanLog.objects.get().scanned_at == then


def test_forwarded_address_that_is_no_ip_is_logged_as_none(scan, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    scan(paid_ticket().external_id, HTTP_X_FORWARDED_FOR="not-an-address")

    assert ScanLog.objects.get().client_address is None
