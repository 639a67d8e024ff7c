"""The ticket e-mail: HTML with inline QR codes, plain text, PNGs and a PDF."""

from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from ticketshop.books.pdf import render_receipt_pdf
from ticketshop.books.selectors import list_order_receipts
from ticketshop.orders.models import Order

from .content import build_ticket_content
from .pdf import render_tickets_pdf


class RelatedImagesEmail(EmailMultiAlternatives):
    """An e-mail whose HTML shows images carried in the message itself.

    The text and HTML alternatives and the images they refer to by Content-ID
    go into one multipart/related part, so that mail clients show the images
    inline instead of listing them; ordinary attachments follow it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.related_images: list[tuple[str, str, bytes]] = []

    def attach_related_image(self, *, content_id: str, filename: str, png: bytes):
        """Attach a PNG that the HTML shows as ``cid:<content_id>``."""
        self.related_images.append((content_id, filename, png))

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.related_images:
            return msg
        encoding = self.encoding or settings.DEFAULT_CHARSET
        related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
        related.attach(msg)
        for content_id, filename, png in self.related_images:
            image = MIMEImage(png, _subtype="png")
            image.add_header("Content-ID", f"<{content_id}>")
            image.add_header("Content-Disposition", "inline", filename=filename)
            related.attach(image)
        return related


def build_ticket_email(
    *, order: Order, language: str, receipt: bool = True
) -> RelatedImagesEmail:
    """Render the ticket e-mail of a paid order in ``language`` (with its
    receipt unless ``receipt`` is False)."""
    with translation.override(language):
        content = build_ticket_content(order=order, language=language, receipt=receipt)
        context = {"c": content}
        subject = " ".join(
            render_to_string("delivery/ticket_email_subject.txt", context).split()
        )
        text = render_to_string("delivery/ticket_email.txt", context)
        html = render_to_string("delivery/ticket_email.html", context)
        pdf = render_tickets_pdf(content)
        pdf_name = _("tickets-%(reference)s.pdf") % {"reference": order.reference}
        # The order's receipts (and credit receipts) from the books, in the
        # buyer's language; none when the organiser sent it without receipt.
        receipts = [
            (
                _("receipt-%(code)s.pdf") % {"code": receipt.code},
                render_receipt_pdf(receipt, language=language),
            )
            for receipt in (list_order_receipts(order_id=order.pk) if receipt else [])
        ]

    message = RelatedImagesEmail(
        subject=subject,
        body=text,
        to=[order.email],
        reply_to=[content.support_email] if content.support_email else None,
        headers={"Auto-Submitted": "auto-generated", "X-Order": order.reference},
    )
    message.attach_alternative(html, "text/html")
    for ticket in content.tickets:
        message.attach_related_image(
            content_id=ticket.content_id,
            filename=ticket.filename,
            # Bare: the HTML prints the type and id under it as text.
            png=ticket.qr_code_png,
        )
    for ticket in content.tickets:
        message.attach(ticket.filename, ticket.qr_image_png, "image/png")
    message.attach(pdf_name, pdf, "application/pdf")
    for name, receipt_pdf in receipts:
        message.attach(name, receipt_pdf, "application/pdf")
    return message
