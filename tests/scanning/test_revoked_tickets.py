"""A ticket that no longer opens the door says why, online and offline.

Tickets are revoked through the order's state machine, as the back office
does it: one ticket cancelled alone (a partial refund), an order exchanged
to another night (its old ids), a whole order cancelled. The door list
carries each ticket's state and the scan answers the reason in words the
page can show; the contract's status codes and strings stay as they were.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ChapterEventFactory, TicketOfferFactory, TicketTypeFactory
from ticketshop.orders import lifecycle
from ticketshop.orders.models import OrderStatus, PaymentMethod, RefundState
from ticketshop.scanning.models import ScanLog, ScanResult

from .factories import (
    SCANNER_PASSWORD,
    OrderFactory,
    ScannerAccountFactory,
    TicketFactory,
    ticket_with_status,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def door_account(db):
    return ScannerAccountFactory()


def door_list():
    response = APIClient().post(
        "/scan/door/", {"password": SCANNER_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def scan(external_id, *, use_ticket=True, path="/validate_ticket/", **extra):
    body = {
        "external_id": external_id,
        "password": SCANNER_PASSWORD,
        "use_ticket": use_ticket,
        **extra,
    }
    return APIClient().put(path, body, format="json")


def page_check(external_id, **extra):
    """The scanner page's own endpoint (validate_ticket's answer)."""
    return scan(external_id, path="/scan/check/", **extra)


def two_ticket_order(**order_kwargs):
    order = OrderFactory(total_price=Decimal("398.00"), **order_kwargs)
    return order, TicketFactory(order=order), TicketFactory(order=order)


def cancel_one(order, ticket):
    with transaction.atomic():
        lifecycle.cancel_tickets(order, ticket_ids=[ticket.pk], now=timezone.now())


def exchange_to_another_night(order):
    night = ChapterEventFactory(
        title="Fredagskväll",
        title_en="Friday night",
        event_at=timezone.now() + timedelta(days=31),
    )
    new_type = TicketTypeFactory()
    TicketOfferFactory(event=night, ticket_type=new_type)
    type_map = {t.ticket_type_id: new_type.pk for t in order.tickets.all()}
    with transaction.atomic():
        lifecycle.exchange(
            order,
            event_id=night.pk,
            type_map=type_map,
            prices={new_type.pk: Decimal("199.00")},
            now=timezone.now(),
        )
    return night


def test_door_list_revokes_a_ticket_refunded_alone():
    order, kept, refunded = two_ticket_order(payment_method=PaymentMethod.SWISH)
    cancel_one(order, refunded)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.refund_state == RefundState.PENDING

    door = door_list()

    assert door["tickets"][refunded.external_id][1] == OrderStatus.FAILED_ADMIN
    assert refunded.external_id in door["revoked"]
    assert door["ticket_states"][refunded.external_id] == {
        "state": "revoked",
        "reason": "refunded",
    }
    assert door["tickets"][kept.external_id][1] == OrderStatus.PAID
    assert kept.external_id not in door["revoked"]
    assert door["ticket_states"][kept.external_id] == {"state": "valid"}


def test_door_list_revokes_exchanged_ids_and_names_the_new_night():
    order, first, second = two_ticket_order(payment_method=PaymentMethod.CASH)
    night = exchange_to_another_night(order)

    door = door_list()

    for old in (first, second):
        assert old.external_id in door["revoked"]
        state = door["ticket_states"][old.external_id]
        assert state["state"] == "revoked" and state["reason"] == "exchanged"
        assert state["moved_to"]["id"] == night.pk
        assert state["moved_to"]["title"] == "Fredagskväll"
        assert state["moved_to"]["title_en"] == "Friday night"
    new_ids = [t.external_id for t in order.tickets.filter(cancelled_at=None)]
    assert len(new_ids) == 2
    for new in new_ids:
        assert door["ticket_states"][new] == {"state": "valid"}
    assert {e["title_en"] for e in door["events"]} >= {"Friday night"}


def test_door_list_states_of_used_cancelled_and_unpaid_tickets():
    used = TicketFactory(times_used=2)
    cancelled = ticket_with_status(OrderStatus.FAILED_ADMIN)
    refunded = ticket_with_status(
        OrderStatus.FAILED_ADMIN, refund_state=RefundState.REFUNDED
    )
    lapsed = ticket_with_status(OrderStatus.FAILED_EXPIRED_RESERVATION, paid_at=None)
    typed = TicketFactory(ticket_type=TicketTypeFactory(title_en="Student"))

    states = door_list()["ticket_states"]

    assert states[used.external_id] == {"state": "used", "uses": 2}
    assert states[cancelled.external_id] == {"state": "revoked", "reason": "cancelled"}
    assert states[refunded.external_id] == {"state": "revoked", "reason": "refunded"}
    assert states[lapsed.external_id] == {"state": "not_paid"}
    assert door_list()["type_titles_en"] == {typed.external_id: "Student"}


def test_scan_of_a_refunded_ticket_says_refunded_with_the_contract_status():
    order, kept, refunded = two_ticket_order(payment_method=PaymentMethod.SWISH)
    cancel_one(order, refunded)

    body = scan(refunded.external_id).json()

    assert body["status"] == OrderStatus.FAILED_ADMIN
    assert body["admitted"] is False
    assert body["revoked_reason"] == "refunded"
    assert body["exchanged_to"] is None
    refunded.refresh_from_db()
    assert refunded.times_used == 0
    assert scan(kept.external_id).json()["revoked_reason"] is None


def test_scan_of_an_exchanged_id_names_the_night_it_moved_to():
    order, first, _second = two_ticket_order(payment_method=PaymentMethod.CASH)
    exchange_to_another_night(order)

    body = scan(first.external_id).json()

    assert body["status"] == OrderStatus.FAILED_ADMIN
    assert body["admitted"] is False
    assert body["revoked_reason"] == "exchanged"
    assert body["exchanged_to"]["title"] == "Fredagskväll"
    assert body["exchanged_to"]["title_en"] == "Friday night"
    assert body["exchanged_to"]["event_at"]


def test_scan_of_an_unpaid_order_gives_no_reason():
    lapsed = ticket_with_status(OrderStatus.FAILED_EXPIRED_RESERVATION, paid_at=None)
    body = scan(lapsed.external_id).json()
    assert body["status"] == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert body["revoked_reason"] is None


def test_scan_gives_the_english_titles():
    ticket = TicketFactory(
        event=ChapterEventFactory(title="Vårkonsert", title_en="Spring concert"),
        ticket_type=TicketTypeFactory(title="Ordinarie", title_en="Standard"),
    )
    body = scan(ticket.external_id, use_ticket=False).json()
    assert body["chapter_event"] == "Vårkonsert"
    assert body["chapter_event_en"] == "Spring concert"
    assert body["ticket_type_title_en"] == "Standard"


def test_first_use_only_never_admits_a_used_ticket_again():
    ticket = TicketFactory()

    first = page_check(ticket.external_id, first_use_only=True).json()
    second = page_check(ticket.external_id, first_use_only=True).json()

    assert (first["admitted"], first["times_used"]) == (True, 0)
    assert (second["admitted"], second["times_used"]) == (False, 1)
    assert second["status"] == OrderStatus.PAID
    ticket.refresh_from_db()
    assert ticket.times_used == 1
    # The volunteer's own choice still lets the ticket in again.
    again = page_check(ticket.external_id).json()
    assert (again["admitted"], again["times_used"]) == (True, 1)


def test_first_use_only_must_be_a_boolean():
    ticket = TicketFactory()
    response = page_check(ticket.external_id, first_use_only="yes")
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


def test_page_check_answers_an_unknown_ticket_with_200_and_logs_it():
    response = page_check("NOSUCH")
    assert response.status_code == 200
    assert response.json() == {
        "times_used": -1,
        "status": "Ticket does not exist",
        "unknown": True,
    }
    assert ScanLog.objects.get().result == ScanResult.UNKNOWN
    # The contract's endpoint keeps its 404.
    assert scan("NOSUCH").status_code == 404


def test_sync_says_why_an_offline_admission_was_refused():
    order, _kept, refunded = two_ticket_order(payment_method=PaymentMethod.SWISH)
    cancel_one(order, refunded)
    scan_body = {
        "key": "k" * 16,
        "external_id": refunded.external_id,
        "use_ticket": True,
        "scanned_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "shown": "green",
        "times_used_seen": 0,
    }
    response = APIClient().post(
        "/scan/sync/",
        {"password": SCANNER_PASSWORD, "scans": [scan_body]},
        format="json",
    )
    result = response.json()["results"][0]
    assert result["conflict"] is True
    assert result["revoked_reason"] == "refunded"
