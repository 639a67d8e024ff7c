"""times_used counts before the request; a use is added only for PAID orders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ticketshop.orders.models import OrderStatus
from ticketshop.scanning.credentials import Scanner
from ticketshop.scanning.models import ScanResult
from ticketshop.scanning.services import validate_ticket

from .factories import OrderFactory, TicketFactory, paid_ticket, ticket_with_status

pytestmark = pytest.mark.django_db

DOOR = Scanner(account_id=None, name="test door", event_ids=None)


def test_first_admitting_scan_reads_zero(scan):
    ticket = paid_ticket()

    assert scan(ticket.external_id).json()["times_used"] == 0

    ticket.refresh_from_db()
    assert ticket.times_used == 1


def test_second_scan_reports_previous_use(scan):
    ticket = paid_ticket()
    scan(ticket.external_id)

    body = scan(ticket.external_id).json()

    assert body["times_used"] == 1
    assert body["admitted"] is True
    ticket.refresh_from_db()
    assert ticket.times_used == 2


def test_check_without_use_adds_nothing(scan):
    ticket = paid_ticket(times_used=3)

    body = scan(ticket.external_id, use_ticket=False).json()

    assert body["times_used"] == 3
    assert body["admitted"] is False
    assert body["status"] == OrderStatus.PAID
    ticket.refresh_from_db()
    assert ticket.times_used == 3


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.RESERVED,
        OrderStatus.FAILED_EXPIRED_RESERVATION,
        OrderStatus.FAILED_ADMIN,
    ],
)
def test_unpaid_ticket_never_counts_a_use(scan, status):
    ticket = ticket_with_status(status)

    for _ in range(3):
        body = scan(ticket.external_id, use_ticket=True).json()
        assert body["status"] == status
        assert body["times_used"] == 0
        assert body["admitted"] is False

    ticket.refresh_from_db()
    assert ticket.times_used == 0


def test_lapsed_reservation_reads_as_expired(scan):
    ticket = ticket_with_status(
        OrderStatus.RESERVED, expires_at=timezone.now() - timedelta(minutes=1)
    )

    body = scan(ticket.external_id).json()

    assert body["status"] == OrderStatus.FAILED_EXPIRED_RESERVATION
    ticket.refresh_from_db()
    assert ticket.times_used == 0


def test_reservation_with_payment_in_progress_is_not_used(scan):
    ticket = ticket_with_status(OrderStatus.RESERVED, payment_pending=True)

    body = scan(ticket.external_id).json()

    assert body["status"] == OrderStatus.RESERVED
    ticket.refresh_from_db()
    assert ticket.times_used == 0


@pytest.mark.parametrize(
    "typed", ["abc234", " ABC234", "ABC234  ", "\tAbC234\n", "  abc234  "]
)
def test_id_matches_in_any_case_around_spaces(scan, typed):
    ticket = paid_ticket(external_id="ABC234")

    response = scan(typed)

    assert response.status_code == 200
    assert response.json()["external_id"] == "ABC234"
    ticket.refresh_from_db()
    assert ticket.times_used == 1


def test_id_stored_in_lower_case_still_matches(scan):
    ticket = paid_ticket(external_id="xyz789")

    response = scan(" XYZ789 ")

    ticket.refresh_from_db()
    assert ticket.times_used == 1

    assert response.status_code == 200
    assert response.json()["external_id"] == "xyz789"


def test_spaces_inside_an_id_do_not_match(scan):
    paid_ticket(external_id="ABC234")

    assert scan("ABC 234").status_code == 404


def test_refund_committed_before_the_use_stops_it():
    ticket = paid_ticket()
    now = timezone.now()
    outcome = validate_ticket(
        scanner=DOOR, external_id=ticket.external_id, use_ticket=True, now=now
    )
    assert outcome.result == ScanResult.ADMITTED
    ticket.order.status = OrderStatus.FAILED_ADMIN
    ticket.order.save()

    outcome = validate_ticket(
        scanner=DOOR, external_id=ticket.external_id, use_ticket=True, now=now
    )

    assert outcome.result == ScanResult.NOT_PAID
    assert outcome.status == OrderStatus.FAILED_ADMIN
    assert outcome.times_used == 1
    ticket.refresh_from_db()
    assert ticket.times_used == 1


def test_other_tickets_of_the_order_are_untouched(scan):
    order = OrderFactory()
    first = TicketFactory(order=order)
    second = TicketFactory(order=order)

    scan(first.external_id)

    second.refresh_from_db()
    assert second.times_used == 0
