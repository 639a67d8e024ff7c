"""The PDF of an order's tickets: one A5 page per ticket, drawn by reportlab."""

import io

from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .content import TicketEmailContent
from .qr import QR_BORDER

_MARGIN = 14 * mm
# Wide enough to scan from a printout at arm's length.
_QR_SIZE = 60 * mm


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """Return the largest font size up to ``size`` at which ``text`` fits."""
    while size > 8 and canvas.stringWidth(text, font, size) > width:
        size -= 1
    return size


def _draw_qr(canvas: Canvas, ticket, *, left: float, top: float) -> None:
    """Draw the ticket's QR code as vector squares: sharp at any zoom or print.

    The white quiet zone around it is the page itself.
    """
    module = _QR_SIZE / ticket.qr_modules
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row, column, length in ticket.qr_dark_runs:
        path.rect(
            left + column * module,
            top - (row + 1) * module,
            length * module,
            module,
        )
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def render_tickets_pdf(content: TicketEmailContent) -> bytes:
    """Return a PDF with every ticket of the order, one per page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A5, pageCompression=1)
    canvas.setTitle(f"{content.event_title} – {content.order_reference}")
    canvas.setAuthor(content.organiser_name)
    width, height = A5
    usable = width - 2 * _MARGIN
    centre = width / 2
    for ticket in content.tickets:
        y = height - _MARGIN
        canvas.setFont("Helvetica", 10)
        canvas.drawString(_MARGIN, y - 10, content.organiser_name)
        canvas.drawRightString(
            width - _MARGIN,
            y - 10,
            _("Ticket %(n)s of %(total)s")
            % {"n": ticket.number, "total": len(content.tickets)},
        )
        y -= 40
        size = _fit(canvas, content.event_title, "Helvetica-Bold", 20, usable)
        canvas.setFont("Helvetica-Bold", size)
        canvas.drawCentredString(centre, y, content.event_title)
        y -= 20
        canvas.setFont("Helvetica", 11)
        for line in (
            content.event_when,
            _("Doors open %(time)s") % {"time": content.doors_open},
            content.event_location,
        ):
            if line:
                canvas.drawCentredString(centre, y, line)
                y -= 15
        # Keep the code's quiet zone (white modules around it) free of text.
        quiet = QR_BORDER * _QR_SIZE / ticket.qr_modules
        y -= quiet
        _draw_qr(canvas, ticket, left=centre - _QR_SIZE / 2, top=y)
        y -= _QR_SIZE + quiet + 10
        size = _fit(canvas, ticket.type_title, "Helvetica-Bold", 14, usable)
        canvas.setFont("Helvetica-Bold", size)
        canvas.drawCentredString(centre, y, ticket.type_title)
        y -= 26
        canvas.setFont("Courier-Bold", 24)
        canvas.drawCentredString(centre, y, ticket.external_id)
        y -= 26
        canvas.setFont("Helvetica", 10)
        canvas.drawCentredString(
            centre, y, _("Buyer: %(email)s") % {"email": content.buyer_email}
        )
        y -= 14
        canvas.drawCentredString(
            centre,
            y,
            _("Order %(reference)s") % {"reference": content.order_reference},
        )
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(
            centre,
            _MARGIN,
            _("Show the QR code at the door. Questions: %(email)s")
            % {"email": content.support_email},
        )
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
