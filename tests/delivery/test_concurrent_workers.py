"""Two workers sending the same order at once: one e-mail, the other stands by."""

import asyncio
import threading

import pytest
from django.db import connection

from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.delivery.services import send_tickets

from .conftest import mark_paid, reserve


class HeldInbox:
    """Accept a message only when released, to hold a sender mid-conversation."""

    def __init__(self, inbox):
        self.inbox = inbox
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return await self.inbox.handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_second_worker_does_not_send_while_the_first_is_sending(
    stopped_smtp_server,
):
    server = stopped_smtp_server
    held = HeldInbox(server.inbox)
    order = mark_paid(reserve(counts=(1, 0)))
    outcomes = {}

    def first_worker():
        try:
            outcomes["first"] = send_tickets(order_id=order.pk)
        finally:
            connection.close()

    server.start(held)
    try:
        thread = threading.Thread(target=first_worker)
        thread.start()
        assert held.arrived.wait(30), "the first worker never reached the server"

        # The first worker holds the claim, not a row lock: this returns at once.
        outcomes["second"] = send_tickets(order_id=order.pk)

        held.release.set()
        thread.join(30)
    finally:
        held.release.set()
        server.stop()

    assert outcomes == {"first": "sent", "second": "claimed_elsewhere"}
    assert len(server.inbox.messages) == 1
    delivery = TicketDelivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.times_sent == 1
