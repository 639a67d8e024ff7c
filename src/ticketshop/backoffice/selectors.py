"""The dashboard's figures, counted in the database."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from ticketshop.delivery.content import vat_included
from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod, Ticket
from ticketshop.orders.seats import count_live_tickets, count_live_tickets_by_type
from ticketshop.payments.models import (
    REFUND_OPEN,
    DoorPayment,
    RefundStatus,
    SwishRefund,
)

from .chart import sales_svg


@dataclass
class TypeFigures:
    title: str
    limit: int | None
    sold: int = 0
    held: int = 0
    complimentary: int = 0
    admitted: int = 0
    revenue: Decimal = Decimal("0")
    vat: Decimal = Decimal("0")

    @property
    def net(self) -> Decimal:
        return self.revenue - self.vat


@dataclass
class EventFigures:
    event: ChapterEvent
    seats: int
    sold: int = 0
    held: int = 0
    complimentary: int = 0
    admitted: int = 0
    revenue: Decimal = Decimal("0")
    vat: Decimal = Decimal("0")
    refunded: Decimal = Decimal("0")
    refunds_pending: Decimal = Decimal("0")
    refunds_failed: int = 0
    cancelled_tickets: int = 0
    due_at_door: Decimal = Decimal("0")
    collected_at_door: Decimal = Decimal("0")
    types: list[TypeFigures] = field(default_factory=list)
    chart: str = ""

    @property
    def left(self) -> int:
        return max(0, self.seats - self.sold - self.held)

    @property
    def overbooked(self) -> int:
        """Tickets sold beyond the seats (the seats were lowered below them)."""
        return max(0, self.sold - self.seats)

    @property
    def net(self) -> Decimal:
        return self.revenue - self.vat

    @property
    def admitted_percent(self) -> int:
        return round(100 * self.admitted / self.sold) if self.sold else 0


def in_show(event: ChapterEvent, now: datetime) -> bool:
    """During the show (from an hour before doors open until six hours
    after the start) the dashboard refreshes by itself."""
    return (
        event.doors_open_at - timedelta(hours=1)
        <= now
        <= event.event_at + timedelta(hours=6)
    )


def event_figures(event: ChapterEvent, *, now: datetime | None = None) -> EventFigures:
    now = now or timezone.now()
    rate = Decimal(settings.DELIVERY_VAT_RATE)
    figures = EventFigures(event=event, seats=event.seats)
    live_total = count_live_tickets(event_ids=[event.pk], now=now).get(event.pk, 0)
    live_by_type = count_live_tickets_by_type(
        event_ids=[event.pk], now=now, ticket_type_ids=None
    )
    offers = TicketOffer.objects.filter(event=event).select_related("ticket_type")
    by_type: dict[int, TypeFigures] = {
        o.ticket_type_id: TypeFigures(o.ticket_type.title, o.limit) for o in offers
    }
    paid = Ticket.objects.filter(
        event=event, order__status=OrderStatus.PAID, cancelled_at__isnull=True
    )
    rows = paid.values("ticket_type_id", "ticket_type__title").annotate(
        sold=Count("pk"),
        revenue=Sum("price"),
        complimentary=Count(
            "pk", filter=Q(order__payment_method=PaymentMethod.COMPLIMENTARY)
        ),
        admitted=Count("pk", filter=Q(times_used__gt=0)),
    )
    for row in rows:
        figs = by_type.setdefault(
            row["ticket_type_id"], TypeFigures(row["ticket_type__title"], None)
        )
        figs.sold = row["sold"]
        figs.revenue = row["revenue"] or Decimal("0")
        figs.complimentary = row["complimentary"]
        figs.admitted = row["admitted"]
    # VAT is rounded once per receipt line (an order's tickets of one type
    # and price), as the buyer's receipt and the bookkeeping export's
    # payments round it; rounding the type's whole revenue once instead
    # differed from their sum by an öre.
    for line in paid.values("order_id", "ticket_type_id", "price").annotate(
        n=Count("pk")
    ):
        if line["ticket_type_id"] in by_type:
            by_type[line["ticket_type_id"]].vat += vat_included(
                line["price"] * line["n"], rate=rate
            )
    for (_event_id, type_id), live in live_by_type.items():
        if type_id in by_type:
            by_type[type_id].held = max(0, live - by_type[type_id].sold)
    figures.types = list(by_type.values())
    for figs in figures.types:
        figures.sold += figs.sold
        figures.complimentary += figs.complimentary
        figures.admitted += figs.admitted
        figures.revenue += figs.revenue
        figures.vat += figs.vat
    figures.held = max(0, live_total - figures.sold)
    refunds = SwishRefund.objects.filter(payment__order__event=event)
    figures.refunded = refunds.filter(status=RefundStatus.PAID).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    figures.refunds_pending = refunds.filter(status__in=REFUND_OPEN).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    figures.refunds_failed = Order.objects.filter(
        event=event, refund_state="FAILED"
    ).count()
    figures.due_at_door = Order.objects.filter(
        event=event, status=OrderStatus.PAID
    ).aggregate(s=Sum("due_at_door"))["s"] or Decimal("0")
    # Collected at the door for this event (the event it was taken for).
    figures.collected_at_door = DoorPayment.objects.filter(event=event).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    figures.cancelled_tickets = Ticket.objects.filter(
        event=event, cancelled_at__isnull=False
    ).count()
    figures.chart = sales_svg(
        sales_over_time(event), capacity=event.seats, title=event.title
    )
    return figures


def sales_over_time(event: ChapterEvent) -> list[tuple[datetime, int]]:
    """(paid at, tickets still valid) of the event's paid orders."""
    return [
        (paid_at, count)
        for paid_at, count in Order.objects.filter(
            event=event, status=OrderStatus.PAID, paid_at__isnull=False
        )
        .values_list("paid_at", "ticket_count")
        .order_by("paid_at")
        if count
    ]


def all_events_sales(events) -> list[tuple[datetime, int]]:
    return [
        (paid_at, count)
        for paid_at, count in Order.objects.filter(
            event__in=events, status=OrderStatus.PAID, paid_at__isnull=False
        ).values_list("paid_at", "ticket_count")
        if count
    ]


# --- The fair release: the funnel and the waiting list ----------------------------


@dataclass
class ReleaseFunnel:
    """An event's queue in numbers, counted in the database in one query."""

    joined: int = 0  # every entry, also those who left
    waiting: int = 0  # in the queue, not admitted yet
    admitted: int = 0  # ever admitted (whatever came of it)
    reserved: int = 0  # reserved seats (an order), paid or not
    paid: int = 0
    lapsed: int = 0  # admitted but did not reserve, or passed their turn
    left: int = 0
    waiting_list: int = 0  # on the waiting list after the sell-out
    offered: int = 0  # open offers from the waiting list


def release_funnel(release) -> ReleaseFunnel:
    from ticketshop.release.models import Entry, EntryState

    counts = Entry.objects.filter(release=release).aggregate(
        joined=Count("pk"),
        waiting=Count("pk", filter=Q(state=EntryState.WAITING)),
        admitted=Count("pk", filter=Q(admitted_at__isnull=False)),
        reserved=Count(
            "pk",
            filter=Q(order__isnull=False)
            | Q(state__in=[EntryState.RESERVED, EntryState.PAID]),
        ),
        paid=Count("pk", filter=Q(state=EntryState.PAID)),
        lapsed=Count("pk", filter=Q(state__in=[EntryState.LAPSED, EntryState.PASSED])),
        left=Count("pk", filter=Q(state=EntryState.LEFT)),
        waiting_list=Count("pk", filter=Q(state=EntryState.SOLD_OUT_WAITING)),
    )
    return ReleaseFunnel(**counts, offered=open_offers(release))


def _offer_model():
    """The waiting list's offers (None while that app is not installed)."""
    from django.apps import apps

    if not apps.is_installed("ticketshop.waitlist"):
        return None
    try:
        return apps.get_model("waitlist", "Offer")
    except LookupError:
        return None


def open_offers(release) -> int:
    offer = _offer_model()
    if offer is None:
        return 0
    return offer.objects.filter(entry__release=release, state="offered").count()


@dataclass
class WaitingListRow:
    position: int
    public_id: str
    email: str
    tickets_wanted: int
    rank: int | None
    joined_at: datetime
    offered: int = 0  # seats on offer to this entry now
    offer_expires_at: datetime | None = None


def waiting_list(release, *, limit: int = 200) -> tuple[list[WaitingListRow], int]:
    """The waiting list in its order (its place in the queue, then arrival),
    each row with its position; and how many are on it in all."""
    from ticketshop.release.models import Entry, EntryState

    entries = Entry.objects.filter(release=release, state=EntryState.SOLD_OUT_WAITING)
    total = entries.count()
    ordered = entries.order_by(F("rank").asc(nulls_last=True), "joined_at", "pk")
    rows = [
        WaitingListRow(
            position=i,
            public_id=e.public_id,
            email=e.email,
            tickets_wanted=e.tickets_wanted,
            rank=e.rank,
            joined_at=e.joined_at,
        )
        for i, e in enumerate(ordered[:limit], start=1)
    ]
    offer = _offer_model()
    if offer is not None and rows:
        by_id = {r.public_id: r for r in rows}
        for public_id, seats, expires in offer.objects.filter(
            entry__release=release,
            state="offered",
            entry__public_id__in=list(by_id),
        ).values_list("entry__public_id", *OFFER_FIELDS):
            by_id[public_id].offered = seats
            by_id[public_id].offer_expires_at = expires
    return rows, total


# The offer's seats and expiry (the waiting list's Offer model).
OFFER_FIELDS = ("seats", "expires_at")
