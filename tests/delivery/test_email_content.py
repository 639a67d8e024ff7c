"""What the ticket e-mail says: event, receipt, organiser, language."""

from decimal import Decimal

import pytest
from django.utils import timezone

from ticketshop.books.models import VatStatus
from ticketshop.books.receipts import current_organiser
from ticketshop.delivery.content import vat_included
from ticketshop.delivery.emails import build_ticket_email
from ticketshop.delivery.models import TicketDelivery

from .conftest import mark_paid, reserve, run_worker


def bodies(message):
    html = next(c for c, mimetype in message.alternatives if mimetype == "text/html")
    return message.body, html


@pytest.mark.django_db(transaction=True)
def test_email_holds_event_receipt_organiser_and_support(settings):
    settings.DELIVERY_ORGANISER_NAME = "Fysiksektionen"
    settings.DELIVERY_ORGANISER_ADDRESS = "Brinellvägen 89, 114 28 Stockholm"
    settings.DELIVERY_VAT_NUMBER = "SE802411894801"
    settings.DELIVERY_SUPPORT_EMAIL = "biljetter@f.kth.se"
    settings.DELIVERY_TERMS_URL = "https://example.org/villkor"
    settings.DELIVERY_LOGO_URL = "https://example.org/logo.png"
    settings.DELIVERY_INTRO = {"sv": "Välkommen till Fysikalen!", "en": ""}
    event_at = timezone.make_aware(timezone.datetime(2026, 12, 5, 19, 0))
    order = mark_paid(reserve(counts=(2, 1), event_at=event_at, doors_open_minutes=45))

    message = build_ticket_email(order=order, language="sv")

    assert message.subject == "Dina biljetter till Fysikalen 2026"
    assert message.to == ["kund@example.org"]
    assert message.reply_to == ["biljetter@f.kth.se"]
    for body in bodies(message):
        assert "Välkommen till Fysikalen!" in body
        assert "lördag 5 december 2026" in body
        assert "19:00" in body
        assert "18:15" in body  # doors open 45 minutes before
        assert "Nymble" in body
        assert "Swish" in body
        assert order.payment_reference in body
        assert order.reference in body
        assert "Fysiksektionen" in body
        assert "Brinellvägen 89, 114 28 Stockholm" in body
        assert "SE802411894801" in body
        assert "biljetter@f.kth.se" in body
        assert "https://example.org/villkor" in body
        # 2 × 199 kr with 6 % VAT included, 1 × 99 kr, total 497 kr
        assert "398,00" in body and "22,53" in body
        assert "99,00" in body and "5,60" in body
        assert "497,00" in body and "28,13" in body
        # The VAT per rate, worded as the receipt words it.
        assert "Moms 6 %: 28,13 kr av 497,00 kr" in body
    assert 'src="https://example.org/logo.png"' in bodies(message)[1]


def _organiser(status, *, vat_number=""):
    organiser = current_organiser()
    organiser.vat_status = status
    organiser.vat_number = vat_number
    organiser.save()
    return organiser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("status", "swedish", "english"),
    [
        (
            VatStatus.NOT_LIABLE,
            "Ingen moms tas ut: säljaren är inte skattskyldig för moms.",
            "No VAT is charged: the seller is not liable for VAT.",
        ),
        (
            VatStatus.EXEMPT,
            "Ingen moms tas ut: säljaren är undantagen från moms",
            "No VAT is charged: the seller is exempt from VAT",
        ),
    ],
)
def test_email_of_an_organiser_without_vat_says_no_vat_is_charged(
    settings, status, swedish, english
):
    """The organiser's status decides: not liable or exempt, the e-mail names
    no VAT rate nor amount (whatever the DELIVERY_* settings say) and states,
    as the receipt does, that no VAT is charged."""
    settings.DELIVERY_VAT_NUMBER = "SE802411894801"
    _organiser(status)
    order = mark_paid(reserve(counts=(2, 1)))

    for language, statement in (("sv", swedish), ("en", english)):
        for body in bodies(build_ticket_email(order=order, language=language)):
            assert statement in body
            assert "497,00" in body or "497.00" in body
            assert "22,53" not in body and "22.53" not in body
            assert "28,13" not in body and "28.13" not in body
            assert "6 %" not in body
            assert "SE802411894801" not in body


@pytest.mark.django_db(transaction=True)
def test_email_of_a_registered_organiser_shows_each_ticket_types_rate():
    """Registered: the VAT per rate of the ticket types, as on the receipt
    (one type at 12 %, the other at 6 %), and the organiser's VAT number."""
    _organiser(VatStatus.REGISTERED, vat_number="SE556677889901")
    order = reserve(counts=(2, 1))
    types = {t.ticket_type for t in order.tickets.select_related("ticket_type")}
    dear = next(t for t in types if t.price == Decimal("199"))
    dear.vat_rate = 12
    dear.save()
    order = mark_paid(order)

    text, html = bodies(build_ticket_email(order=order, language="sv"))
    for body in (text, html):
        # 2 × 199 = 398 kr at 12 %: 42,64 kr; 99 kr at 6 %: 5,60 kr.
        assert "Moms 12 %: 42,64 kr av 398,00 kr" in body
        assert "Moms 6 %: 5,60 kr av 99,00 kr" in body
        assert "48,24" in body
        assert "SE556677889901" in body
        assert "Ingen moms" not in body
    english = build_ticket_email(order=order, language="en").body
    assert "VAT 12 %: 42.64 kr of 398.00 kr" in english


def test_vat_included_in_a_price_is_rounded_to_the_ore():
    assert vat_included(Decimal("398.00"), rate=Decimal("6")) == Decimal("22.53")
    assert vat_included(Decimal("125.00"), rate=Decimal("25")) == Decimal("25.00")
    assert vat_included(Decimal("0.00"), rate=Decimal("6")) == Decimal("0.00")


@pytest.mark.django_db(transaction=True)
def test_email_is_in_english_when_the_delivery_asks_for_it():
    order = mark_paid(reserve(counts=(1, 0)))

    english = build_ticket_email(order=order, language="en")
    swedish = build_ticket_email(order=order, language="sv")

    assert english.subject == "Your tickets for Fysikalen 2026"
    assert "Receipt" in english.body and "Doors open" in english.body
    assert "Kvitto" in swedish.body and "Insläpp" in swedish.body
    assert english.attachments[-1].filename.startswith("tickets-")
    assert swedish.attachments[-1].filename.startswith("biljetter-")


@pytest.mark.django_db(transaction=True)
def test_buyer_text_in_the_email_is_escaped_in_html():
    order = mark_paid(reserve(counts=(1, 0)))
    order.event.title = "Rock & <b>Roll</b>"
    order.event.save()
    order.refresh_from_db()

    message = build_ticket_email(order=order, language="sv")

    assert "Rock &amp; &lt;b&gt;Roll&lt;/b&gt;" in bodies(message)[1]
    assert "Rock & <b>Roll</b>" in message.body
    assert message.subject == "Dina biljetter till Rock & <b>Roll</b>"


@pytest.mark.django_db(transaction=True)
def test_worker_sends_in_the_language_kept_on_the_delivery(mailoutbox):
    order = mark_paid(reserve(counts=(1, 0)))
    TicketDelivery.objects.filter(order=order).update(language="en")

    run_worker()

    assert mailoutbox[0].subject == "Your tickets for Fysikalen 2026"
