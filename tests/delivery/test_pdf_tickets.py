"""The PDF holds one page per ticket with its code, event, type, id and buyer."""

import io

import pytest
from django.utils import translation
from PIL import Image, ImageDraw
from pypdf import PdfReader

from ticketshop.delivery.content import build_ticket_content
from ticketshop.delivery.pdf import render_tickets_pdf

from .conftest import decode_qr, mark_paid, reserve


def raster(ticket, *, scale=10, border=4) -> bytes:
    """Paint the PDF's vector QR runs onto a PNG, as a printer would."""
    side = (ticket.qr_modules + 2 * border) * scale
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for row, column, length in ticket.qr_dark_runs:
        x, y = (column + border) * scale, (row + border) * scale
        draw.rectangle([x, y, x + length * scale - 1, y + scale - 1], fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_pdf_has_one_page_per_ticket_with_its_details():
    order = mark_paid(reserve(counts=(2, 1)))
    with translation.override("sv"):
        content = build_ticket_content(order=order, language="sv")
        pdf = PdfReader(io.BytesIO(render_tickets_pdf(content)))

    assert len(pdf.pages) == 3
    for page, ticket in zip(pdf.pages, content.tickets, strict=True):
        text = page.extract_text()
        assert ticket.external_id in text
        assert ticket.type_title in text
        assert "Fysikalen 2026" in text
        assert "kund@example.org" in text
        assert "Nymble" in text
        assert decode_qr(raster(ticket)) == [ticket.external_id]
