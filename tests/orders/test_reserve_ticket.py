import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import (
    ChapterEventFactory,
    TicketOfferFactory,
    TicketTypeFactory,
    event_with_types,
)
from ticketshop.orders.models import Order, OrderStatus, Ticket

pytestmark = pytest.mark.django_db


def body(event, *lines):
    return {
        "chapter_event": str(event.id),
        "tickets": [{"ticket_type": str(t.id), "count": n} for t, n in lines],
    }


def test_reservation_creates_order_and_tickets_and_sets_session_cookie(post_json):
    event, (standard, student) = event_with_types()

    response = post_json("/reserve_ticket/", body(event, (standard, 2), (student, 1)))

    assert response.status_code == 201
    assert response.content == b""
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED
    assert order.total_price == Decimal("497")
    assert order.tickets.count() == 3
    assert sorted(order.tickets.values_list("price", flat=True)) == [
        Decimal("99"),
        Decimal("199"),
        Decimal("199"),
    ]


def test_path_without_slash_works_and_unknown_keys_are_ignored(post_json):
    event, (standard, _) = event_with_types()
    payload = {
        "chapter_event": event.id,
        "tickets": [
            {"ticket_type": standard.id, "count": 1, "price": "199", "title": "x"}
        ],
        "extra": True,
    }
    assert post_json("/reserve_ticket", payload).status_code == 201


def test_the_same_ticket_type_twice_is_added_up(post_json):
    event, (standard, _) = event_with_types(max_tickets_per_payment=3)
    response = post_json("/reserve_ticket/", body(event, (standard, 2), (standard, 1)))
    assert response.status_code == 201
    assert Ticket.objects.filter(ticket_type=standard).count() == 3
    too_many = post_json("/reserve_ticket/", body(event, (standard, 2), (standard, 2)))
    assert too_many.status_code == 403
    assert too_many.json() == "TooManyTickets"


def test_external_ids_are_six_unambiguous_characters_and_unique(post_json):
    event, (standard, _) = event_with_types()
    for _ in range(5):
        post_json("/reserve_ticket/", body(event, (standard, 8)))
    ids = list(Ticket.objects.values_list("external_id", flat=True))
    assert len(ids) == 40
    assert len(set(ids)) == 40
    for external_id in ids:
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", external_id)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {},
        {"chapter_event": 1},
        {"tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": 1, "tickets": []},
        {"chapter_event": 1, "tickets": {}},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1}]},
        {"chapter_event": 1, "tickets": [{"count": 1}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": 0}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": -2}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": "2"}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": 1.5}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": True}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": 1, "count": None}]},
        {"chapter_event": "abc", "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": -1, "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": 0, "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": 1.5, "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": True, "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": None, "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": [1], "tickets": [{"ticket_type": 1, "count": 1}]},
        {"chapter_event": 1, "tickets": [{"ticket_type": "x", "count": 1}]},
        {"chapter_event": 1, "tickets": ["1"]},
        {"chapter_event": 1, "tickets": [None]},
        {"chapter_event": 10**30, "tickets": [{"ticket_type": 1, "count": 1}]},
    ],
)
def test_malformed_bodies_are_invalid_request_data(post_json, payload):
    event_with_types()
    response = post_json("/reserve_ticket/", payload)
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "raw", [b"{", b"not json", b"\xff\xfe", b"", b'{"chapter_event": 1,}']
)
def test_invalid_json_is_invalid_request_data(client, raw):
    response = client.post("/reserve_ticket/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


def raw_body(event, ticket_type) -> str:
    return (
        f'{{"chapter_event": {event.id}, "tickets": '
        f'[{{"ticket_type": {ticket_type.id}, "count": 1}}]}}'
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/jsonp",
        "application/json-patch+json",
        "",
    ],
)
def test_json_sent_with_another_content_type_is_refused(client, content_type):
    """Only application/json is read (the contract); browsers send the first
    types cross-site without asking first (no preflight). A valid JSON body
    sent as anything else is refused and reserves nothing."""
    event, (standard, _) = event_with_types()
    response = client.generic(
        "POST", "/reserve_ticket/", raw_body(event, standard), content_type=content_type
    )
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.exists()


def test_a_form_post_is_invalid_request_data(client):
    event, (standard, _) = event_with_types()
    response = client.post(
        "/reserve_ticket/", {"chapter_event": event.id, "tickets": standard.id}
    )
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON"],
)
def test_application_json_with_parameters_or_any_case_is_read(client, content_type):
    event, (standard, _) = event_with_types()
    response = client.post(
        "/reserve_ticket/", raw_body(event, standard), content_type=content_type
    )
    assert response.status_code == 201
    assert Order.objects.count() == 1


def test_more_than_the_maximum_is_too_many_tickets(post_json):
    event, (standard, _) = event_with_types(max_tickets_per_payment=4)
    response = post_json("/reserve_ticket/", body(event, (standard, 5)))
    assert response.status_code == 403
    assert response.json() == "TooManyTickets"
    assert not Order.objects.exists()


def test_not_enough_seats_is_out_of_tickets_with_the_number_left(post_json, client):
    event, (standard, _) = event_with_types(seats=5)
    assert post_json("/reserve_ticket/", body(event, (standard, 3))).status_code == 201
    client.cookies.clear()

    response = post_json("/reserve_ticket/", body(event, (standard, 3)))

    assert response.status_code == 403
    assert response.json() == {"error": "OutOfTickets", "tickets_left": 2}
    assert Order.objects.count() == 1


def test_limited_type_reports_what_is_left_of_that_type(post_json, client):
    event, (standard, student) = event_with_types(seats=50, limits={1: 3})
    assert post_json("/reserve_ticket/", body(event, (student, 2))).status_code == 201
    client.cookies.clear()

    response = post_json("/reserve_ticket/", body(event, (student, 2)))

    assert response.status_code == 403
    assert response.json() == {"error": "OutOfTickets", "tickets_left": 1}
    # The other type is not limited by it.
    client.cookies.clear()
    assert post_json("/reserve_ticket/", body(event, (standard, 8))).status_code == 201


def test_sales_not_started(post_json):
    event, (standard, _) = event_with_types(
        sales_start_at=timezone.now() + timedelta(hours=1)
    )
    response = post_json("/reserve_ticket/", body(event, (standard, 1)))
    assert response.status_code == 403
    assert response.json() == "SalesNotStarted"


@pytest.mark.parametrize("stopped", [False, True])
def test_unknown_or_stopped_event_does_not_exist(post_json, stopped):
    event, (standard, _) = event_with_types(
        sales_stop_at=timezone.now() - timedelta(seconds=1)
    )
    event_id = event.id if stopped else event.id + 1000
    response = post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event_id,
            "tickets": [{"ticket_type": standard.id, "count": 1}],
        },
    )
    assert response.status_code == 404
    assert response.json() == "EventDoesNotExist"


def test_unknown_hidden_or_not_offered_ticket_type_does_not_exist(post_json):
    event, (standard, _) = event_with_types()
    hidden = TicketTypeFactory(visible=False)
    TicketOfferFactory(event=event, ticket_type=hidden)
    elsewhere = TicketOfferFactory(event=ChapterEventFactory()).ticket_type
    for type_id in (hidden.id, elsewhere.id, 99999):
        response = post_json(
            "/reserve_ticket/",
            {
                "chapter_event": event.id,
                "tickets": [
                    {"ticket_type": standard.id, "count": 1},
                    {"ticket_type": type_id, "count": 1},
                ],
            },
        )
        assert response.status_code == 404
        assert response.json() == "TicketTypeDoesNotExist"
    assert not Order.objects.exists()


def test_new_reservation_releases_the_sessions_earlier_one(post_json):
    event, (standard, _) = event_with_types(seats=4)
    assert post_json("/reserve_ticket/", body(event, (standard, 3))).status_code == 201
    first = Order.objects.get()

    # The same session reserves again: its own earlier hold does not block it.
    assert post_json("/reserve_ticket/", body(event, (standard, 4))).status_code == 201

    first.refresh_from_db()
    assert first.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert Order.objects.filter(status=OrderStatus.RESERVED).count() == 1


def test_new_reservation_never_touches_a_paid_order(post_json, client):
    event, (standard, _) = event_with_types(seats=4)
    assert post_json("/reserve_ticket/", body(event, (standard, 2))).status_code == 201
    Order.objects.update(status=OrderStatus.PAID)

    assert post_json("/reserve_ticket/", body(event, (standard, 2))).status_code == 201

    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == [OrderStatus.PAID, OrderStatus.RESERVED]
    client.cookies.clear()
    third = post_json("/reserve_ticket/", body(event, (standard, 1)))
    assert third.json() == {"error": "OutOfTickets", "tickets_left": 0}


def test_session_holds_a_random_token_not_a_database_id(post_json, client):
    event, (standard, _) = event_with_types()
    post_json("/reserve_ticket/", body(event, (standard, 1)))
    order = Order.objects.get()
    assert client.session["order_token"] == order.token
    assert len(order.token) >= 40
    assert client.session.get_expiry_age() <= (15 + 60) * 60


def test_price_changes_after_reservation_do_not_change_the_order(post_json):
    event, (standard, _) = event_with_types()
    post_json("/reserve_ticket/", body(event, (standard, 2)))
    standard.price = Decimal("999")
    standard.save()
    order = Order.objects.get()
    assert order.total_price == Decimal("398")
    assert set(order.tickets.values_list("price", flat=True)) == {Decimal("199")}
