"""The waiting list's offers: seats that came back, offered to one entry.

An ``Offer`` belongs to one ``release.Entry`` on an event's waiting list. Its
seats are held by a real reservation (``hold``, an order made through the
normal reservation path, held until the offer's expiry): the hold is the
only guard against overselling, as for every buyer. Its state changes only
through ``machines.WAITLIST_OFFER`` in ``services.py``.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order


class OfferState(models.TextChoices):
    OFFERED = "offered", _("Offered")
    TAKEN = "taken", _("Taken")
    DECLINED = "declined", _("Declined")
    LAPSED = "lapsed", _("Lapsed")


class Offer(models.Model):
    """Seats offered to the next entry on an event's waiting list."""

    entry = models.ForeignKey(
        "release.Entry",
        on_delete=models.CASCADE,
        related_name="waitlist_offers",
        verbose_name=_("entry"),
    )
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.CASCADE,
        related_name="waitlist_offers",
        verbose_name=_("event"),
    )
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=OfferState.choices,
        default=OfferState.OFFERED,
    )
    seats = models.PositiveIntegerField(_("seats offered"))
    token = models.CharField(max_length=64, unique=True, editable=False)
    # The reservation that holds the offered seats until the offer expires.
    hold = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hold"),
    )
    # The buyer's own reservation, made when they took the offer.
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    seats_taken = models.PositiveIntegerField(_("seats taken"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, default="sv")
    offered_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # A buyer taking the offer holds this claim while the reservation runs
    # (a lease, not a state), so that two clicks take it once.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("waiting list offer")
        verbose_name_plural = _("waiting list offers")
        ordering = ["-offered_at", "-id"]
        indexes = [
            models.Index(fields=["event", "state"], name="waitlist_offer_event_state"),
            models.Index(fields=["state", "expires_at"], name="waitlist_offer_due"),
        ]
        constraints = [
            # An entry has at most one open offer, whatever two workers do.
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(state="offered"),
                name="waitlist_one_open_offer_per_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} ({self.state}, {self.seats})"
