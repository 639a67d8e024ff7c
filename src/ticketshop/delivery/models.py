from django.db import models
from django.utils.translation import gettext_lazy as _

from ticketshop.orders.models import Order


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", _("Waiting to be sent")
    RETRYING = "RETRYING", _("Failed, will be retried")
    SENT = "SENT", _("Sent")
    GAVE_UP = "GAVE_UP", _("Failed, no more retries")
    NOT_PAID = "NOT_PAID", _("Not sent: the order is not paid")


class TicketDelivery(models.Model):
    """The ticket e-mail of one paid order: its attempts and their outcome."""

    order = models.OneToOneField(
        Order,
        on_delete=models.CASCADE,
        related_name="ticket_delivery",
        verbose_name=_("order"),
    )
    status = models.CharField(
        _("delivery status"),
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    language = models.CharField(_("language"), max_length=8, default="sv")
    # An organiser may send issued tickets without the receipt.
    with_receipt = models.BooleanField(_("with receipt"), default=True)
    recipient = models.EmailField(_("sent to"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    times_sent = models.PositiveIntegerField(_("times sent"), default=0)
    # A worker that is sending holds the claim until this time, without
    # holding a row lock across the SMTP conversation; a crashed worker's
    # claim lapses by itself.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("ticket e-mail")
        verbose_name_plural = _("ticket e-mails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_unsent_idx",
                condition=models.Q(sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.reference}: {self.get_status_display()}"
