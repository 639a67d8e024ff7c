from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent, TicketType
from ticketshop.money import MoneyField


class OrderStatus(models.TextChoices):
    RESERVED = "RESERVED", _("Reserved")
    PAID = "PAID", _("Paid")
    FAILED_EXPIRED_RESERVATION = (
        "FAILED_EXPIRED_RESERVATION",
        _("Expired, declined or released"),
    )
    FAILED_ADMIN = "FAILED_ADMIN", _("Cancelled or refunded by an organiser")


# The states whose orders may hold seats: the partial index of live orders
# covers these, and every live-seat count names them (see orders.seats).
SEAT_HOLDING_STATUSES = (OrderStatus.RESERVED, OrderStatus.PAID)


class PaymentMethod(models.TextChoices):
    SWISH = "SWISH", _("Swish")
    FREE = "FREE", _("free (total 0 kr)")
    COMPLIMENTARY = "COMPLIMENTARY", _("complimentary")
    CASH = "CASH", _("cash")
    INVOICE = "INVOICE", _("invoice")


class RefundState(models.TextChoices):
    """Money on its way back to the buyer (orders.lifecycle)."""

    NONE = "", _("none")
    PENDING = "PENDING", _("refund pending")
    REFUNDED = "REFUNDED", _("refunded")
    FAILED = "FAILED", _("refund failed")


class Order(models.Model):
    """A buyer's reservation of tickets and its payment (the original "Payment")."""

    token = models.CharField(max_length=64, unique=True, editable=False)
    reference = models.CharField(_("order reference"), max_length=16, unique=True)
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("event"),
    )
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=OrderStatus.choices,
        default=OrderStatus.RESERVED,
    )
    email = models.EmailField(_("e-mail"), blank=True)
    # Who the order is for, when an organiser issued it (complimentary tickets).
    name = models.CharField(_("name"), max_length=200, blank=True)
    payment_method = models.CharField(
        _("payment method"),
        max_length=16,
        choices=PaymentMethod.choices,
        default=PaymentMethod.SWISH,
    )
    refund_state = models.CharField(
        _("refund"),
        max_length=16,
        choices=RefundState.choices,
        default=RefundState.NONE,
        blank=True,
    )
    total_price = MoneyField(
        _("total (SEK)"), max_digits=12, decimal_places=2, bounded=False
    )
    expires_at = models.DateTimeField(_("reserved until"))
    # True from the moment a Swish payment request is about to be created
    # until Swish settles it: the seats stay held meanwhile, whatever expires_at.
    payment_pending = models.BooleanField(_("payment in progress"), default=False)
    payment_started_at = models.DateTimeField(
        _("payment started"), null=True, blank=True
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payment_reference = models.CharField(
        _("Swish payment reference"), max_length=64, blank=True
    )
    # How many tickets the order holds, written with them: the seats an order
    # takes are counted from the orders alone (selectors.count_live_tickets).
    ticket_count = models.PositiveIntegerField(_("tickets"), default=0)
    # The language the buyer shopped in (sv, en): the ticket e-mail and its
    # PDF are written in it. Blank for orders from before it was kept.
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=settings.LANGUAGES
    )
    # What the buyer still pays at the door: the difference of an exchange
    # to dearer tickets (orders.lifecycle.exchange), settled outside Swish.
    due_at_door = MoneyField(
        _("to pay at the door (SEK)"),
        max_digits=12,
        decimal_places=2,
        default=0,
        bounded=False,
    )
    # How often start_payment has taken a lapsed or declined hold again
    # (lifecycle.renew; bounded by HOLD_RENEWAL_LIMIT).
    hold_renewals = models.PositiveSmallIntegerField(_("hold renewals"), default=0)
    needs_attention = models.BooleanField(_("needs attention"), default=False)
    attention_reason = models.TextField(_("why it needs attention"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            # Covers the live-seat count (orders.seats): it reads these
            # columns of the event's orders that may hold seats and nothing
            # else. Partial: failed, expired and cancelled orders are not in
            # it, so the count under the seat lock grows with the seats, not
            # with the event's history (lapsed holds are swept out of it).
            models.Index(
                fields=[
                    "event",
                    "status",
                    "expires_at",
                    "payment_pending",
                    "ticket_count",
                ],
                name="order_live_seats_idx",
                condition=Q(status__in=SEAT_HOLDING_STATUSES),
            ),
            models.Index(fields=["email"]),
            models.Index(fields=["payment_reference"]),
            models.Index(
                fields=["payment_pending"],
                name="order_pending_idx",
                condition=Q(payment_pending=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"


class Ticket(models.Model):
    """One seat of an order; its external id is what the QR code holds."""

    external_id = models.CharField(_("ticket id"), max_length=6, unique=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tickets")
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("event"),
    )
    ticket_type = models.ForeignKey(
        TicketType,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("ticket type"),
    )
    # Copied at reservation: later price edits never change an order.
    price = MoneyField(_("price paid (SEK)"), max_digits=10, decimal_places=2)
    times_used = models.PositiveIntegerField(_("times used"), default=0)
    # Set when an organiser cancels this ticket alone (or exchanges it): it no
    # longer holds a seat nor opens the door; the order's ticket_count and
    # total no longer include it.
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["id"]
        indexes = [models.Index(fields=["event", "ticket_type"])]

    def __str__(self) -> str:
        return self.external_id


class SeatCounter(models.Model):
    """PostgreSQL: a bound on an event's seats taken, for the reservation
    that takes no seat lock (``orders.lifecycle.reserve``, issue 12).

    ``held`` is never below the tickets that hold seats, or it is NULL
    (unknown). A fast reservation adds its tickets only where ``held`` plus
    them still fits in the seats, under this row's lock alone; everything
    else that takes seats holds the event's seat lock, which sets ``held``
    to NULL (``orders.seatlock.lock_event``), and ``orders.seats.check_capacity``
    sets it to the exact count once the seats are known to fit. Freeing
    seats (release, lapse, expiry, cancel, refund, exchange) leaves it as
    it is: still an upper bound, made exact again by the next reservation
    that does not fit under it but does fit the seats left. Unused on
    SQLite, where the database's one write lock serialises every
    reservation anyway.
    """

    event = models.OneToOneField(
        ChapterEvent, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    held = models.PositiveIntegerField(null=True)

    class Meta:
        verbose_name = _("seat counter")
        verbose_name_plural = _("seat counters")

    def __str__(self) -> str:
        return f"{self.event_id}: {self.held}"
