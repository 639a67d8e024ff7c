"""The ticket e-mail and its PDF are in the language the buyer shopped in."""

import io

import pytest
from django.core import mail
from pypdf import PdfReader

from ticketshop.delivery.models import TicketDelivery
from ticketshop.events.models import ChapterEvent, TicketType
from ticketshop.orders.models import Order

from .conftest import mark_paid, reserve, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def english_texts(order: Order) -> None:
    ChapterEvent.objects.filter(pk=order.event_id).update(
        title_en="Physics Revue 2026", description_en="The chapter's own show."
    )
    for ticket_type in TicketType.objects.filter(tickets__order=order).distinct():
        ticket_type.title_en = f"{ticket_type.title} (English)"
        ticket_type.save()


def paid_in(language: str) -> Order:
    order = reserve(counts=(2, 1))
    Order.objects.filter(pk=order.pk).update(language=language)
    english_texts(order)
    return mark_paid(order)


def sent_message():
    run_worker()
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def test_english_buyer_gets_english_email_with_english_titles():
    order = paid_in("en")

    assert TicketDelivery.objects.get(order=order).language == "en"
    message = sent_message()
    assert "Physics Revue 2026" in message.subject
    html = message.alternatives[0][0]
    assert '<html lang="en">' in html
    assert "Receipt" in html and "Kvitto" not in html
    assert "(English)" in html
    assert "Physics Revue 2026" in message.body


def test_english_buyer_gets_english_pdf():
    paid_in("en")

    message = sent_message()
    pdf_bytes = next(
        content
        for _name, content, mimetype in message.attachments
        if mimetype == "application/pdf"
    )
    text = PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert "Physics Revue 2026" in text
    assert "(English)" in text


def test_swedish_buyer_gets_swedish_email_with_swedish_titles():
    order = paid_in("sv")

    message = sent_message()
    html = message.alternatives[0][0]
    assert '<html lang="sv">' in html
    assert "Kvitto" in html
    assert "Physics Revue 2026" not in html
    assert order.event.title in html


def test_order_without_a_language_uses_the_setting(settings):
    settings.DELIVERY_LANGUAGE = "en"
    order = paid_in("")

    assert TicketDelivery.objects.get(order=order).language == "en"


def test_english_title_missing_falls_back_to_swedish():
    order = reserve(counts=(1, 0))
    Order.objects.filter(pk=order.pk).update(language="en")
    mark_paid(order)

    html = sent_message().alternatives[0][0]
    assert order.event.title in html
    assert "Receipt" in html
