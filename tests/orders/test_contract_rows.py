"""Rows of the API contract that no other test reached, each over HTTP with
its status and body: a session cookie without a reservation, the clamp of
``tickets_left``, ``Busy`` on PostgreSQL's usual reservation path, hostile
Swish callback bodies, a cross-site scan, and ``FAILED_ADMIN`` read back."""

import json
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from tests.factories import event_with_types
from ticketshop.backoffice.services import cancel_order
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order, OrderStatus, SeatCounter, Ticket
from ticketshop.scanning.models import ScanLog

pytestmark = pytest.mark.django_db


def reservation(event, ticket_type, count=1):
    return {
        "chapter_event": str(event.pk),
        "tickets": [{"ticket_type": str(ticket_type.pk), "count": count}],
    }


def session_without_a_reservation(client):
    """A real session cookie whose session holds no order."""
    session = client.session
    session["something_else"] = "kept"
    session.save()
    client.cookies["sessionid"] = session.session_key
    assert "sessionid" in client.cookies


def test_start_payment_on_a_session_without_a_reservation_is_invalid_session(
    client, post_json
):
    session_without_a_reservation(client)
    response = post_json("/start_payment/", {"email_address": "a@example.org"})
    assert response.status_code == 400
    assert response.json() == "InvalidSession"
    assert Order.objects.count() == 0


def test_payment_status_of_a_session_without_a_reservation_is_invalid_session(
    client,
):
    session_without_a_reservation(client)
    response = client.get("/session_payment_status/")
    assert response.status_code == 400
    assert response.json() == "InvalidSession"


def test_tickets_left_is_never_negative_after_the_seats_are_lowered(
    client, post_json, settings
):
    settings.CHAPTEREVENTS_CACHE_SECONDS = 0
    event, (standard, _) = event_with_types(seats=5)
    assert (
        post_json("/reserve_ticket/", reservation(event, standard, 5)).status_code
        == 201
    )
    # Seats lowered below the live tickets (an organiser's decision).
    ChapterEvent.objects.filter(pk=event.pk).update(seats=3)

    listed = client.get("/get_chapterevents/").json()["chapter_events"]
    assert [e["tickets_left"] for e in listed if e["id"] == event.pk] == [0]
    client.cookies.clear()  # another buyer (a session's new hold frees its old)
    refused = post_json("/reserve_ticket/", reservation(event, standard, 1))
    assert refused.status_code == 403
    assert refused.json() == {"error": "OutOfTickets", "tickets_left": 0}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_busy_on_the_usual_reservation_path_when_the_counter_is_held(
    client, post_json, settings
):
    """A second buyer's reservation goes through the event's seat counter;
    while another transaction holds that row past SEAT_LOCK_TIMEOUT_SECONDS
    the answer is 503 "Busy" with Retry-After, and nothing is written."""
    settings.SEAT_LOCK_TIMEOUT_SECONDS = 0.2
    event, (standard, _) = event_with_types(seats=10)
    assert (
        post_json("/reserve_ticket/", reservation(event, standard)).status_code == 201
    )
    assert SeatCounter.objects.get(event=event).held is not None  # the usual path
    holding, release = threading.Event(), threading.Event()

    def hold_the_counter():
        try:
            with transaction.atomic():
                SeatCounter.objects.select_for_update().get(event=event)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_counter)
    holder.start()
    try:
        assert holding.wait(10)
        client.cookies.clear()
        response = post_json("/reserve_ticket/", reservation(event, standard))
    finally:
        release.set()
        holder.join(10)
    assert response.status_code == 503
    assert response.json() == "Busy"
    assert int(response["Retry-After"]) >= 1
    assert Order.objects.count() == 1
    assert Ticket.objects.filter(event=event).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than any JSON parser recurses
        json.dumps({"id": "x" * 5_000_000}),  # larger than any request body limit
        '{"id": "a\\nFORGED log line", "status": "PAID"}',
        "\x00\xff not json",
    ],
    ids=["deep", "oversized", "newline-in-id", "binary"],
)
def test_a_hostile_swish_callback_is_answered_200_and_changes_nothing(client, body):
    event, (standard, _) = event_with_types()
    response = client.post(
        "/swish/callback/",
        body.encode("utf-8", "surrogateescape"),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.content == b""  # the callback's answer, as for any callback
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 0


def test_a_cross_site_scan_changes_nothing(client, post_json):
    event, (standard, _) = event_with_types()
    assert (
        post_json("/reserve_ticket/", reservation(event, standard)).status_code == 201
    )
    order = Order.objects.get()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    ticket = order.tickets.get()
    logged = ScanLog.objects.count()

    response = client.put(
        "/validate_ticket/",
        json.dumps(
            {"external_id": ticket.external_id, "password": "x", "use_ticket": True}
        ),
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert response.status_code == 403
    assert response.json() == "CrossSiteRequest"
    ticket.refresh_from_db()
    assert ticket.times_used == 0
    assert ScanLog.objects.count() == logged


def test_an_order_cancelled_without_refund_reads_failed_admin(client, post_json):
    event, (standard, _) = event_with_types()
    assert (
        post_json("/reserve_ticket/", reservation(event, standard, 2)).status_code
        == 201
    )
    order = Order.objects.get()
    organiser = get_user_model().objects.create_user(
        "organiser-rows", password="x", is_staff=True, is_superuser=True
    )
    cancel_order(user=organiser, order_id=order.pk, notify=False)

    response = client.get("/session_payment_status/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "FAILED_ADMIN"
    assert body["chapter_event"] == event.pk
    assert body["tickets"] == [{"ticket_type": standard.pk, "count": 2}]
    assert body["mail"] is None  # no payment was ever started
    assert "external_ids" not in body  # never paid
    order.refresh_from_db()
    assert order.refund_state in ("", None, "NONE")
