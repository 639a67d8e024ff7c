"""What a ticket e-mail says, gathered once for its HTML, text and PDF parts."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ticketshop.books.pdf import kronor as receipt_kronor
from ticketshop.books.pdf import no_vat_statement
from ticketshop.books.receipts import current_organiser, vat_lines
from ticketshop.money import InvalidAmount
from ticketshop.orders.models import Order
from ticketshop.orders.signing import sign_ticket

from .qr import dark_runs, make_qr, qr_code_png, ticket_qr_png

_ORE = Decimal("0.01")


@dataclass(frozen=True)
class TicketContent:
    number: int
    external_id: str
    type_title: str
    content_id: str
    filename: str
    qr_code_png: bytes = field(repr=False)
    qr_image_png: bytes = field(repr=False)
    # The code as vectors for the PDF: modules per side and dark runs.
    qr_modules: int = 0
    qr_dark_runs: list[tuple[int, int, int]] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class ReceiptLine:
    title: str
    count: int
    unit_price: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class TicketEmailContent:
    language: str
    event_title: str
    event_date: str
    event_time: str
    event_when: str
    doors_open: str
    event_location: str
    event_description: str
    organiser_name: str
    organiser_address: str
    vat_number: str
    # The organiser's VAT status decides (books.Organiser): registered, the
    # VAT per rate as the receipt says it; otherwise the receipt's statement
    # that no VAT is charged.
    vat_charged: bool
    vat_per_rate: list[str]
    no_vat_statement: str
    support_email: str
    logo_url: str
    terms_url: str
    intro: str
    buyer_email: str
    order_reference: str
    payment_method: str
    payment_reference: str
    paid_at: str
    tickets: list[TicketContent]
    receipt_lines: list[ReceiptLine]
    total: Decimal
    total_vat: Decimal
    # False: the organiser sent the tickets without a receipt.
    receipt: bool = True
    # What the order still owes at the door (due_at_door_content), or None.
    due: "DueAtDoorContent | None" = None


@dataclass(frozen=True)
class DueAtDoorContent:
    """The e-mail's block about money to pay at the door, written out in the
    reader's language: what was paid and what is still to pay there."""

    paid: str
    due: str
    total: str


def kronor(amount: Decimal) -> str:
    """Kronor as the reader's language writes them: 100, 99,50 or 99.50."""
    places = 0 if amount == amount.to_integral_value() else 2
    return formats.number_format(amount, decimal_pos=places, use_l10n=True)


def due_at_door_content(order: Order, *, total: Decimal) -> DueAtDoorContent | None:
    """The amount the order still owes at the door (after an exchange to
    dearer tickets) beside what was paid of ``total``; None when nothing."""
    due = order.due_at_door or Decimal("0")
    if due <= 0:
        return None
    return DueAtDoorContent(
        paid=kronor(max(total - due, Decimal("0"))),
        due=kronor(due),
        total=kronor(total),
    )


def vat_included(amount: Decimal, *, rate: Decimal) -> Decimal:
    """Return the VAT contained in a price that includes it, to the öre."""
    return (amount * rate / (Decimal(100) + rate)).quantize(_ORE, ROUND_HALF_UP)


def _checked(amount: Decimal) -> Decimal:
    """``amount``, or an ``InvalidAmount`` (shown as such) when a spoiled
    stored price made it NaN."""
    return amount if amount.is_finite() else InvalidAmount(amount)


def _kronor_or_invalid(amount: Decimal) -> str:
    return receipt_kronor(amount) if amount.is_finite() else str(InvalidAmount())


def _date(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


def _weekday_date(value: datetime) -> str:
    """Return e.g. "lördag 5 december 2026": buyers plan by the weekday."""
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'l')} {_date(local)}"


def _time(value: datetime) -> str:
    return formats.time_format(timezone.localtime(value), "TIME_FORMAT")


def build_ticket_content(
    *, order: Order, language: str, receipt: bool = True
) -> TicketEmailContent:
    """Gather the e-mail's content; call under translation.override(language).

    Only the tickets that open the door: not those an organiser cancelled or
    exchanged."""
    event = order.event
    tickets = list(
        order.tickets.filter(cancelled_at__isnull=True)
        .select_related("ticket_type")
        .order_by("id")
    )
    organiser = current_organiser()

    ticket_parts = []
    for number, ticket in enumerate(tickets, start=1):
        title = ticket.ticket_type.title_in(language)
        # The code holds the signed payload, so that a door without network
        # can tell the ticket is genuine; the id stays printed under it.
        qr = make_qr(
            sign_ticket(external_id=ticket.external_id, event_id=ticket.event_id)
        )
        code_png = qr_code_png(qr)
        ticket_parts.append(
            TicketContent(
                number=number,
                external_id=ticket.external_id,
                type_title=title,
                content_id=f"ticket-{ticket.external_id}.{order.reference}@ticketshop",
                filename=_("ticket-%(id)s.png") % {"id": ticket.external_id},
                qr_code_png=code_png,
                qr_image_png=ticket_qr_png(
                    code_png=code_png, external_id=ticket.external_id, caption=title
                ),
                qr_modules=qr.symbol_size(scale=1, border=0)[0],
                qr_dark_runs=dark_runs(qr),
            )
        )

    # One line per ticket type and price paid (prices are copied at
    # reservation, so one type may in principle carry two prices); its VAT
    # is the receipt's: the type's rates, rounded per rate on the line.
    parts = vat_lines(tickets, language=language, organiser=organiser)
    groups: OrderedDict[tuple[int, Decimal], list] = OrderedDict()
    for ticket in tickets:
        groups.setdefault((ticket.ticket_type_id, ticket.price), []).append(ticket)
    lines = []
    for (type_id, price), group in groups.items():
        line_total = price * len(group)
        lines.append(
            ReceiptLine(
                title=group[0].ticket_type.title_in(language),
                count=len(group),
                unit_price=price,
                vat=_checked(
                    sum(
                        (
                            p.vat
                            for p in parts
                            if p.ticket_type_id == type_id and p.unit_price == price
                        ),
                        Decimal("0.00"),
                    )
                ),
                total=line_total,
            )
        )
    per_rate: dict[int, tuple[Decimal, Decimal]] = {}
    for part in parts:
        amount, vat = per_rate.get(part.rate, (Decimal("0"), Decimal("0")))
        per_rate[part.rate] = (amount + part.amount, vat + part.vat)
    vat_per_rate = [
        _("VAT %(rate)s %%: %(vat)s of %(amount)s")
        % {
            "rate": rate,
            "vat": _kronor_or_invalid(vat),
            "amount": _kronor_or_invalid(amount),
        }
        for rate, (amount, vat) in sorted(per_rate.items(), reverse=True)
    ]
    total = sum((line.total for line in lines), Decimal("0.00"))

    if order.tickets.filter(cancelled_at__isnull=False).exists():
        # Sent again after an exchange or a partial cancel: not a purchase.
        intro = _(
            "Your tickets as they are now, after the organiser changed your "
            "order. Only the codes below open the door; earlier codes of this "
            "order no longer do. Show the QR code at the door, on your phone or "
            "printed; each code lets one person in once."
        )
    else:
        intro = settings.DELIVERY_INTRO.get(language) or _(
            "Thank you for your purchase! Your tickets are below and in the attached "
            "PDF. Show the QR code at the door, on your phone or printed; each code "
            "lets one person in once."
        )
    paid_at = order.paid_at or order.updated_at
    return TicketEmailContent(
        language=language,
        event_title=event.title_in(language),
        event_date=_weekday_date(event.event_at),
        event_time=_time(event.event_at),
        event_when=_("%(date)s at %(time)s")
        % {"date": _weekday_date(event.event_at), "time": _time(event.event_at)},
        doors_open=_time(event.doors_open_at),
        event_location=event.location,
        event_description=event.description_in(language),
        organiser_name=organiser.legal_name,
        organiser_address=organiser.address,
        vat_number=organiser.vat_number if organiser.charges_vat else "",
        vat_charged=organiser.charges_vat,
        vat_per_rate=vat_per_rate,
        no_vat_statement=(
            "" if organiser.charges_vat else no_vat_statement(organiser.vat_status)
        ),
        support_email=settings.DELIVERY_SUPPORT_EMAIL,
        logo_url=settings.DELIVERY_LOGO_URL,
        terms_url=settings.DELIVERY_TERMS_URL,
        intro=intro,
        buyer_email=order.email,
        order_reference=order.reference,
        payment_method=order.get_payment_method_display(),
        payment_reference=order.payment_reference,
        paid_at=f"{_date(paid_at)} {_time(paid_at)}",
        tickets=ticket_parts,
        receipt_lines=lines,
        total=total,
        # The sum of the lines, so that the receipt's columns add up.
        total_vat=sum((line.vat for line in lines), Decimal("0.00")),
        receipt=receipt,
        due=due_at_door_content(order, total=total),
    )
