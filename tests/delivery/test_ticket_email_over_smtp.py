"""A paid order's tickets reach the buyer through a real SMTP server."""

import pytest

from ticketshop.delivery.models import DeliveryStatus
from ticketshop.orders.models import OrderStatus

from .conftest import (
    decode_qr,
    mark_paid,
    pdf_page_count,
    png_parts,
    reserve,
    run_worker,
)


@pytest.mark.django_db(transaction=True)
def test_paid_order_reaches_buyer_with_one_scannable_qr_per_ticket_and_a_pdf(
    smtp_server,
):
    order = mark_paid(reserve(counts=(2, 1)), email="kund@example.org")
    ticket_ids = sorted(order.tickets.values_list("external_id", flat=True))

    run_worker()

    assert len(smtp_server.inbox.messages) == 1
    _sender, recipients, message = smtp_server.inbox.messages[0]
    assert recipients == ["kund@example.org"]
    assert message["To"] == "kund@example.org"
    assert "Fysikalen 2026" in message["Subject"]

    attached = png_parts(message, disposition="attachment")
    assert (
        sorted(code for part in attached for code in decode_qr(part.get_content()))
        == ticket_ids
    )

    inline = png_parts(message, disposition="inline")
    assert (
        sorted(code for part in inline for code in decode_qr(part.get_content()))
        == ticket_ids
    )
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in inline:
        assert f"cid:{part['Content-ID'].strip('<>')}" in html

    text = message.get_body(preferencelist=("plain",)).get_content()
    for ticket_id in ticket_ids:
        assert ticket_id in text and ticket_id in html

    pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1
    assert pdf_page_count(pdfs[0].get_content()) == len(ticket_ids)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    delivery = order.ticket_delivery
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.sent_at is not None
    assert delivery.attempts == 1
    assert delivery.last_error == ""
