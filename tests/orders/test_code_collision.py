import pytest

from tests.factories import event_with_types, reserve_tickets
from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order, Ticket
from ticketshop.orders.services import TicketLine

pytestmark = pytest.mark.django_db


class Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def test_taken_ticket_code_is_drawn_again_and_the_order_kept_whole(monkeypatch):
    event, (standard, _) = event_with_types()
    first = reserve_tickets(
        session=Session(), event_id=event.id, lines=[TicketLine(standard.id, 1)]
    )
    taken = first.tickets.get().external_id
    draws = {"collisions": 0}
    real_random_code = lifecycle.random_code

    def colliding(length):
        if length == lifecycle.EXTERNAL_ID_LENGTH and draws["collisions"] == 0:
            draws["collisions"] += 1
            return taken
        return real_random_code(length)

    monkeypatch.setattr(lifecycle, "random_code", colliding)

    second = reserve_tickets(
        session=Session(), event_id=event.id, lines=[TicketLine(standard.id, 2)]
    )

    assert draws["collisions"] == 1
    assert Order.objects.count() == 2
    assert second.tickets.count() == 2
    assert Ticket.objects.filter(external_id=taken).count() == 1
