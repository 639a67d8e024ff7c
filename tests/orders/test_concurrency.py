"""200 buyers at once against 50 seats, over real HTTP, never oversell."""

import random
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.orders.models import Order, Ticket
from ticketshop.orders.selectors import count_live_tickets

BUYERS = 200
SEATS = 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_buyers_never_oversell(live_server):
    event, (standard, student) = event_with_types(seats=SEATS)
    barrier = Barrier(BUYERS)
    rng = random.Random(4)
    wanted = [rng.randint(1, 3) for _ in range(BUYERS)]

    def buy(count):
        session = requests.Session()
        # One request a connection, as separate buyers' phones would do.
        session.headers["Connection"] = "close"
        lines = [{"ticket_type": standard.id, "count": count}]
        barrier.wait(timeout=60)
        for _ in range(20):
            response = session.post(
                f"{live_server.url}/reserve_ticket/",
                json={"chapter_event": event.id, "tickets": lines},
                timeout=60,
            )
            if response.status_code != 503:
                break
        token = session.cookies.get("sessionid")
        return response.status_code, response.text, count, token, session

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        results = list(pool.map(buy, wanted))

    statuses = [status for status, *_ in results]
    assert set(statuses) <= {201, 403}, statuses
    live = count_live_tickets(event_ids=[event.id], now=timezone.now())[event.id]
    assert live <= SEATS
    assert Ticket.objects.count() == live  # nothing half-written
    # Every 201 is backed by exactly its tickets, reachable from its session.
    reserved = 0
    for status, _text, count, _token, session in results:
        if status != 201:
            continue
        state = session.get(f"{live_server.url}/session_payment_status/").json()
        assert state["status"] == "RESERVED"
        assert state["tickets"] == [{"ticket_type": standard.id, "count": count}]
        reserved += count
    assert reserved == live
    assert Order.objects.count() == statuses.count(201)
    # The rush was real: the seats sold out and some buyers were turned away.
    assert SEATS - 3 < live
    assert statuses.count(403) > 0
