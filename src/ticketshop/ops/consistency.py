"""Do seats, tickets, payments and deliveries agree? (manage.py check_consistency)

Run after restoring a backup, after an incident, or from cron. Every rule is
one query over the whole shop; each difference names the rows involved.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone


@dataclass(frozen=True)
class Difference:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def _live_tickets(now: datetime):
    """Tickets holding seats, by the orders' one live rule (orders.seats),
    counted here ticket by ticket, independently of the stored counts."""
    from ticketshop.orders.models import Ticket
    from ticketshop.orders.seats import live_order_q

    return Ticket.objects.filter(
        live_order_q(now=now, prefix="order__"), cancelled_at__isnull=True
    )


def check_seats(now: datetime) -> list[Difference]:
    """No event and no limited ticket type has more live tickets than seats."""
    from ticketshop.events.models import ChapterEvent, TicketOffer

    found = []
    live = _live_tickets(now)
    sold = dict(live.values_list("event_id").annotate(n=Count("id")))
    for event in ChapterEvent.objects.filter(pk__in=sold.keys()):
        if sold[event.pk] > event.seats:
            found.append(
                Difference(
                    "oversold",
                    f"event {event.pk} ({event.title}) has {sold[event.pk]} live "
                    f"tickets for {event.seats} seats",
                )
            )
    by_type = dict(
        (
            (row["event_id"], row["ticket_type_id"]),
            row["n"],
        )
        for row in live.values("event_id", "ticket_type_id").annotate(n=Count("id"))
    )
    # The seat counter (both databases) lets reservations through without
    # counting the live holds: below them, it would let the event oversell.
    from ticketshop.orders.models import SeatCounter

    for counter in SeatCounter.objects.filter(held__isnull=False):
        if counter.held < sold.get(counter.event_id, 0):
            found.append(
                Difference(
                    "seat counter too low",
                    f"event {counter.event_id}: counter {counter.held}, "
                    f"{sold[counter.event_id]} live tickets",
                )
            )
    for offer in TicketOffer.objects.filter(limit__isnull=False):
        n = by_type.get((offer.event_id, offer.ticket_type_id), 0)
        if n > offer.limit:
            found.append(
                Difference(
                    "type limit exceeded",
                    f"event {offer.event_id} ticket type {offer.ticket_type_id}: "
                    f"{n} live tickets, limit {offer.limit}",
                )
            )
    return found


def check_orders() -> list[Difference]:
    """Each order's stored count and total match its tickets (those not
    cancelled one by one)."""
    from ticketshop.orders.models import Order

    found = []
    valid = Q(tickets__cancelled_at__isnull=True)
    rows = Order.objects.annotate(
        n=Count("tickets", filter=valid),
        total=Coalesce(Sum("tickets__price", filter=valid), Decimal("0")),
    ).filter(~Q(n=F("ticket_count")) | ~Q(total=F("total_price")))
    for order in rows:
        found.append(
            Difference(
                "order and tickets disagree",
                f"order {order.reference}: ticket_count {order.ticket_count}, "
                f"{order.n} tickets; total {order.total_price}, tickets sum "
                f"{order.total}",
            )
        )
    return found


def check_payments() -> list[Difference]:
    """Paid orders were paid in Swish; money taken for no paid order is
    refunded or flagged for an organiser."""
    from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
    from ticketshop.payments.models import RefundStatus, SwishPayment, SwishStatus

    found = []
    unpaid_paid = Order.objects.filter(
        status=OrderStatus.PAID, payment_method=PaymentMethod.SWISH
    ).exclude(swish_payments__status=SwishStatus.PAID)
    for order in unpaid_paid:
        found.append(
            Difference(
                "paid order without a paid Swish payment",
                f"order {order.reference}",
            )
        )
    accepted = SwishPayment.objects.filter(
        status=SwishStatus.PAID,
        order__status=OrderStatus.PAID,
        payment_reference=F("order__payment_reference"),
    ).annotate(
        refunded=Coalesce(
            Sum(
                "refunds__amount",
                filter=~Q(
                    refunds__status__in=[RefundStatus.REJECTED, RefundStatus.ERROR]
                ),
            ),
            Decimal("0"),
        )
    )
    # What was paid = the order's tickets now + what went back for the
    # tickets cancelled one by one.
    wrong_amount = accepted.exclude(amount=F("order__total_price") + F("refunded"))
    for payment in wrong_amount.select_related("order"):
        found.append(
            Difference(
                "paid amount differs from the order total",
                f"order {payment.order.reference}: paid {payment.amount}, "
                f"total {payment.order.total_price}, refunded {payment.refunded}",
            )
        )
    taken = list_money_not_accepted().exclude(order__needs_attention=True)
    for payment in taken:
        found.append(
            Difference(
                "money taken for no paid order, not refunded nor flagged",
                f"order {payment.order.reference} ({payment.order.status}), "
                f"payment {payment.request_id} {payment.amount}",
            )
        )
    return found


def list_money_not_accepted():
    """Paid Swish payments the shop did not take (the order failed, lapsed,
    was released or cancelled before the money came, or was paid twice)
    that no refund covers yet: money waiting for an organiser's refund."""
    from ticketshop.orders.models import OrderStatus
    from ticketshop.payments.models import (
        REFUND_OPEN,
        RefundStatus,
        SwishPayment,
        SwishStatus,
    )

    return (
        SwishPayment.objects.filter(status=SwishStatus.PAID)
        .filter(
            ~Q(order__status=OrderStatus.PAID)
            | ~Q(payment_reference=F("order__payment_reference"))
        )
        .exclude(refunds__status__in=[*REFUND_OPEN, RefundStatus.PAID])
        .select_related("order")
        .distinct()
        .order_by("pk")
    )


def check_refunds(now: datetime) -> list[Difference]:
    """No refund is left CREATING (recorded, not sent to Swish, or sent
    without an answer) longer than the grace after which reconciliation
    sends it again: one still there means the workers do not run, or
    Swish cannot be reached."""
    from ticketshop.payments.common import refund_send_grace
    from ticketshop.payments.models import RefundStatus, SwishRefund

    before = now - refund_send_grace()
    stuck = (
        SwishRefund.objects.filter(status=RefundStatus.CREATING)
        .filter(
            Q(sent_at__lte=before) | Q(sent_at__isnull=True, created_at__lte=before)
        )
        .select_related("payment__order")
        .order_by("pk")
    )
    return [
        Difference(
            "refund stuck before Swish",
            f"refund {refund.refund_id} of order {refund.payment.order.reference} "
            f"({refund.amount} kr): CREATING since {refund.created_at:%Y-%m-%d %H:%M}, "
            f"last sent {refund.sent_at or 'never'}",
        )
        for refund in stuck
    ]


def check_deliveries() -> list[Difference]:
    """Every paid order has its ticket e-mail; a sent one has its time."""
    from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
    from ticketshop.orders.models import Order, OrderStatus

    found = []
    for order in Order.objects.filter(
        status=OrderStatus.PAID, ticket_delivery__isnull=True
    ):
        found.append(
            Difference("paid order without a ticket e-mail", f"order {order.reference}")
        )
    mismatched = TicketDelivery.objects.filter(
        Q(status=DeliveryStatus.SENT, sent_at__isnull=True)
        | ~Q(status=DeliveryStatus.SENT) & Q(sent_at__isnull=False)
    ).select_related("order")
    for delivery in mismatched:
        found.append(
            Difference(
                "ticket e-mail status and sent time disagree",
                f"order {delivery.order.reference}: {delivery.status}, "
                f"sent_at {delivery.sent_at}",
            )
        )
    return found


def check_tickets() -> list[Difference]:
    """Only tickets of orders that were paid have been used at the door."""
    from ticketshop.orders.models import Ticket

    found = []
    for ticket in Ticket.objects.filter(
        times_used__gt=0, order__paid_at__isnull=True
    ).select_related("order"):
        found.append(
            Difference(
                "ticket used but never paid",
                f"ticket {ticket.external_id} of order {ticket.order.reference}",
            )
        )
    return found


def check_all(*, now: datetime | None = None) -> list[Difference]:
    now = now or timezone.now()
    return [
        *check_seats(now),
        *check_orders(),
        *check_payments(),
        *check_refunds(now),
        *check_deliveries(),
        *check_tickets(),
    ]
