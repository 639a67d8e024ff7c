"""Each change of a ticket e-mail's state writes one history row; a refused
change writes none (the ``ticket_delivery`` machine)."""

import pytest
from django.db import transaction

from ticketshop.delivery import services
from ticketshop.delivery.machines import TICKET_DELIVERY
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.statemachine.machine import TransitionNotAllowed, acting_as
from ticketshop.statemachine.models import StateChange

from .conftest import mark_paid, reserve

pytestmark = pytest.mark.django_db(transaction=True)


def history(order):
    delivery = TicketDelivery.objects.get(order=order)
    return [
        (r.transition, r.from_state, r.to_state)
        for r in TICKET_DELIVERY.history(delivery.pk)
    ]


class Refused:
    """A message whose send fails, as SMTP refusing it."""

    def send(self):
        raise ConnectionRefusedError("SMTP is down")


def failing(monkeypatch):
    monkeypatch.setattr(services, "build_ticket_email", lambda **kwargs: Refused())


def test_paid_then_sent_writes_two_rows(mailoutbox):
    order = mark_paid(reserve())
    assert history(order) == [("queue", "", "PENDING")]
    with acting_as("sweep"):
        assert services.send_tickets(order_id=order.pk) == "sent"
    assert history(order) == [("queue", "", "PENDING"), ("send", "PENDING", "SENT")]
    assert StateChange.objects.filter(transition="send").get().actor == "sweep"
    assert len(mailoutbox) == 1


def test_a_failed_send_then_giving_up(monkeypatch, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    order = mark_paid(reserve())
    failing(monkeypatch)
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            services.send_tickets(order_id=order.pk)
    assert history(order) == [
        ("queue", "", "PENDING"),
        ("fail", "PENDING", "RETRYING"),
        ("give_up", "RETRYING", "GAVE_UP"),
    ]
    assert TicketDelivery.objects.get(order=order).status == DeliveryStatus.GAVE_UP


def test_resend_of_a_sent_email(mailoutbox):
    order = mark_paid(reserve())
    services.send_tickets(order_id=order.pk)
    services.resend_tickets(order=order)
    assert history(order)[-1] == ("resend", "SENT", "PENDING")
    assert len(history(order)) == 3


def test_an_unpaid_order_then_paid_again():
    order = reserve()
    # A task for an order that is not paid (cancelled, released): the worker
    # creates the row and marks it, sending nothing.
    assert services.send_tickets(order_id=order.pk) == "not_paid"
    assert history(order) == [
        ("queue", "", "PENDING"),
        ("not_paid", "PENDING", "NOT_PAID"),
    ]
    mark_paid(order)
    assert history(order)[-1] == ("queue_again", "NOT_PAID", "PENDING")
    assert TicketDelivery.objects.get(order=order).attempts == 0


def test_scheduling_a_sent_email_again_writes_nothing(mailoutbox):
    order = mark_paid(reserve())
    services.send_tickets(order_id=order.pk)
    before = StateChange.objects.count()
    with transaction.atomic():
        services.schedule_ticket_delivery(order=order)
    assert StateChange.objects.count() == before


def test_a_refused_transition_raises_and_writes_no_row(mailoutbox):
    order = mark_paid(reserve())
    services.send_tickets(order_id=order.pk)
    before = StateChange.objects.count()
    with pytest.raises(TransitionNotAllowed), transaction.atomic():
        delivery = TicketDelivery.objects.select_for_update().get(order=order)
        TICKET_DELIVERY.check(
            "queue_again", delivery, delivery.sent_at is None, ": sent"
        )
    with pytest.raises(TransitionNotAllowed), transaction.atomic():
        TICKET_DELIVERY.check("queue", delivery)  # it exists already
    assert StateChange.objects.count() == before
    assert TicketDelivery.objects.get(order=order).status == DeliveryStatus.SENT
    verdict = TICKET_DELIVERY.allowed(
        "queue_again", delivery, delivery.sent_at is None, "sent"
    )
    assert not verdict and verdict.reason == "sent"


def test_a_rolled_back_change_leaves_no_row(monkeypatch):
    order = mark_paid(reserve())
    before = StateChange.objects.count()

    def broken(**kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(services, "_enqueue", broken)
    with pytest.raises(RuntimeError):
        services.resend_tickets(order=order)
    assert StateChange.objects.count() == before
    assert TicketDelivery.objects.get(order=order).status == DeliveryStatus.PENDING


def test_the_worker_names_itself_in_the_history(mailoutbox):
    from .conftest import run_worker

    order = mark_paid(reserve())
    run_worker()
    delivery = TicketDelivery.objects.get(order=order)
    rows = list(TICKET_DELIVERY.history(delivery.pk))
    assert [(r.transition, r.actor) for r in rows] == [
        ("queue", "process"),
        ("send", "worker"),
    ]
