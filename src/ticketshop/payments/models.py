"""What the shop knows of its Swish payment requests and refunds.

The order (orders.Order) carries only what the rest of the shop needs
(payment_pending, paid_at, payment_reference, needs_attention); the Swish
details and the raw objects for audit live here.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent
from ticketshop.money import MoneyField
from ticketshop.orders.models import Order


class SwishStatus(models.TextChoices):
    # The id is stored and the PUT is about to be (or was) sent, but Swish's
    # answer is not known: a GET tells whether the request exists.
    CREATING = "CREATING", _("being created")
    # Swish refused the PUT (4xx): no request exists.
    REJECTED = "REJECTED", _("refused by Swish")
    CREATED = "CREATED", _("waiting for the payer")
    PAID = "PAID", _("paid")
    DECLINED = "DECLINED", _("declined")
    ERROR = "ERROR", _("error")
    CANCELLED = "CANCELLED", _("cancelled")


OPEN_STATUSES = (SwishStatus.CREATING, SwishStatus.CREATED)


class SwishPayment(models.Model):
    """One Swish payment request of an order (a retry makes a new one)."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="swish_payments"
    )
    # instructionUUID: 32 upper-case hex, chosen here and stored before the PUT.
    request_id = models.CharField(_("payment request id"), max_length=32, unique=True)
    callback_identifier = models.CharField(max_length=36)
    token = models.CharField(
        _("PaymentRequestToken"), max_length=64, null=True, blank=True, unique=True
    )
    amount = MoneyField(
        _("amount (SEK)"), max_digits=12, decimal_places=2, bounded=False
    )
    message = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        _("Swish status"),
        max_length=16,
        choices=SwishStatus.choices,
        default=SwishStatus.CREATING,
    )
    error_code = models.CharField(_("error code"), max_length=16, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    payment_reference = models.CharField(
        _("Swish payment reference"), max_length=64, blank=True
    )
    date_paid = models.DateTimeField(null=True, blank=True)
    # The last payment request object read from Swish (or its callback), as is.
    raw = models.JSONField(_("last Swish object"), null=True, blank=True)
    # What Swish's answer said that differs from what the shop asked for
    # (amount, currency, payee, reference): that answer was not applied.
    mismatch = models.CharField(
        _("differs from Swish's answer"), max_length=255, blank=True
    )
    # When money the order did not take (paid after the shop gave it up) was
    # dealt with: the order completed, or the refund proposed and the
    # organisers told. Empty on such a PAID: reconciliation does it.
    unaccepted_handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the shop last asked Swish; rate-limits polling per request.
    checked_at = models.DateTimeField(_("last asked Swish"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    # Following the request (payments/reads.py): the worker reads it from
    # Swish when a callback names it, and on a schedule while it is open.
    # When the next scheduled read is due (empty: none).
    next_read_at = models.DateTimeField(
        _("next read from Swish"), null=True, blank=True
    )
    # A callback asked for a read that no worker has claimed yet.
    read_queued = models.BooleanField(default=False)
    # A worker is reading it now, until then (a lease: a dead worker's lapses).
    reading_until = models.DateTimeField(null=True, blank=True)
    # When Swish last called back about it.
    callback_at = models.DateTimeField(_("last callback"), null=True, blank=True)
    # How many times the shop has read it from Swish (any reader).
    swish_reads = models.PositiveIntegerField(_("reads from Swish"), default=0)

    class Meta:
        verbose_name = _("Swish payment")
        verbose_name_plural = _("Swish payments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status"],
                name="swishpayment_open_idx",
                condition=Q(status__in=["CREATING", "CREATED"]),
            ),
            # The read loops' claim (reads.claim_next): among open requests
            # and those a callback asked about, the callbacks' first, then
            # the longest due.
            models.Index(
                fields=["-read_queued", "next_read_at"],
                name="swishpayment_read_due_idx",
                condition=Q(status="CREATED") | Q(read_queued=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.status})"


class RefundStatus(models.TextChoices):
    # Recorded in the transaction that decided it; the worker's send task
    # (or reconciliation, if that was lost) PUTs it to Swish with this id.
    CREATING = "CREATING", _("being created")
    # Swish refused the PUT (4xx): no refund exists.
    REJECTED = "REJECTED", _("refused by Swish")
    # Swish's own statuses (swish.md section 9): CREATED -> VALIDATED ->
    # DEBITED -> PAID, or ERROR. Only PAID means the money is back.
    CREATED = "CREATED", _("created")
    VALIDATED = "VALIDATED", _("validated")
    DEBITED = "DEBITED", _("debited")
    PAID = "PAID", _("paid back")
    ERROR = "ERROR", _("error")


# Sent and accepted by Swish, money not yet back.
REFUND_IN_FLIGHT = (RefundStatus.CREATED, RefundStatus.VALIDATED, RefundStatus.DEBITED)
# Not ended: the money is (or will be) on its way back.
REFUND_OPEN = (RefundStatus.CREATING, *REFUND_IN_FLIGHT)
# Ended without paying back: the amount is owed again.
REFUND_FAILED = (RefundStatus.REJECTED, RefundStatus.ERROR)


class SwishRefund(models.Model):
    """A refund of a paid Swish payment, issued by an organiser."""

    payment = models.ForeignKey(
        SwishPayment, on_delete=models.PROTECT, related_name="refunds"
    )
    refund_id = models.CharField(_("refund id"), max_length=32, unique=True)
    callback_identifier = models.CharField(max_length=36)
    amount = MoneyField(
        _("amount (SEK)"), max_digits=12, decimal_places=2, bounded=False
    )
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.CREATING
    )
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    raw = models.JSONField(_("last Swish object"), null=True, blank=True)
    requested_by = models.CharField(_("requested by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When its PUT was last sent (claimed by a sender); empty: never sent.
    sent_at = models.DateTimeField(_("sent to Swish"), null=True, blank=True)
    send_attempts = models.PositiveIntegerField(_("times sent"), default=0)

    class Meta:
        verbose_name = _("Swish refund")
        verbose_name_plural = _("Swish refunds")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status"],
                name="swishrefund_open_idx",
                condition=Q(status__in=["CREATING", "CREATED", "VALIDATED", "DEBITED"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.refund_id} ({self.status})"


class DoorPaymentMethod(models.TextChoices):
    CASH = "CASH", _("cash at the door")
    SWISH = "SWISH", _("Swish at the door")


class DoorPayment(models.Model):
    """Money an order owed at the door (``Order.due_at_door``), collected
    there or recorded in the back office afterwards."""

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="door_payments",
        verbose_name=_("order"),
    )
    # The event the money was taken for, kept as it was then: a later
    # exchange moves the order, never what this payment paid.
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("event"),
    )
    amount = MoneyField(_("amount (SEK)"), max_digits=12, decimal_places=2)
    method = models.CharField(
        _("method"), max_length=16, choices=DoorPaymentMethod.choices
    )
    # A user's name in the back office, or the scanner account's name.
    recorded_by = models.CharField(_("recorded by"), max_length=150)
    recorded_at = models.DateTimeField(_("collected at"), db_index=True)
    # Chosen by the page that sends it: the same key again (a double click,
    # a resent request) finds this row instead of collecting twice.
    key = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("payment at the door")
        verbose_name_plural = _("payments at the door")
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount} ({self.method})"
