"""End to end: reserve, start_payment, the simulator pays and calls back (twice),
the worker sends, and a real SMTP server receives the tickets once."""

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import event_with_types
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    buyer,
    swish,
    swish_without_worker,
    wait_for,
)
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.swish_simulator.background import scheduler
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

from .conftest import decode_qr, pdf_page_count, png_parts, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def buy_and_pay(buyer, *, email: str) -> Order:  # noqa: F811
    event, (standard, student) = event_with_types(
        seats=10, prices=("150", "99"), title="Fysikalen 2026"
    )
    response = buyer.http.post(
        f"{buyer.base}/reserve_ticket/",
        json={
            "chapter_event": event.id,
            "tickets": [
                {"ticket_type": standard.id, "count": 2},
                {"ticket_type": student.id, "count": 1},
            ],
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    response = buyer.start_payment(email)
    assert response.status_code == 200, response.text
    assert buyer.pay(response.json()).status_code < 400
    assert scheduler.wait_idle(timeout=20)
    # The shop's worker reads the payment after the simulator is idle, and
    # its paying transaction (the order, its receipt, the ticket e-mail)
    # commits a moment later: wait for it rather than race it.
    assert wait_for(
        lambda: Order.objects.filter(status=OrderStatus.PAID).exists(), timeout=20
    )
    return Order.objects.get()


def test_swish_payment_with_repeated_callback_delivers_tickets_once(
    buyer,  # noqa: F811
    smtp_server,
    settings,
):
    settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS = True

    order = buy_and_pay(buyer, email="kund@example.org")
    assert SimulatedPaymentRequest.objects.get().callbacks_sent == 2
    run_worker()

    assert len(smtp_server.inbox.messages) == 1
    _sender, recipients, message = smtp_server.inbox.messages[0]
    assert recipients == ["kund@example.org"]
    ticket_ids = sorted(order.tickets.values_list("external_id", flat=True))
    assert len(ticket_ids) == 3
    attached = png_parts(message, disposition="attachment")
    assert len(attached) == 3
    assert sorted(code for p in attached for code in decode_qr(p.get_content())) == (
        ticket_ids
    )
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    assert pdf_page_count(pdf.get_content()) == 3
    order.refresh_from_db()
    assert order.payment_reference
    assert order.payment_reference in message.get_body(("plain",)).get_content()


def test_swish_payment_while_smtp_is_down_delivers_once_the_server_is_back(
    buyer,  # noqa: F811
    stopped_smtp_server,
):
    server = stopped_smtp_server  # down while the order is paid

    order = buy_and_pay(buyer, email="kund@example.org")
    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    delivery = TicketDelivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts == 1

    server.start()
    # Let the retry's backoff pass without sleeping.
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()

    assert [m[1] for m in server.inbox.messages] == [["kund@example.org"]]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
