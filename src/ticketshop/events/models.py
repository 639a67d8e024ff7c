from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from ticketshop.money import MoneyField


def swish_price_problem(price: Decimal) -> str | None:
    """Return why Swish cannot take this ticket price, or None if it can.

    A ticket costs 0 kr (the order is confirmed without Swish) or at least
    Swish's minimum: Swish refuses smaller amounts (AM06), so a 0.50 kr ticket
    could never be paid.
    """
    minimum = settings.SWISH_MIN_AMOUNT
    if 0 < price < minimum:
        return _(
            "A ticket costs 0 kr (free) or at least %(minimum)s kr: Swish "
            "refuses smaller amounts."
        ) % {"minimum": minimum}
    return None


class EnglishTexts(models.Model):
    """Optional English title and description beside the Swedish ones.

    English pages, e-mails and get_chapterevents (Accept-Language: en) show
    these where they are filled in, and the Swedish texts where not.
    """

    title_en = models.CharField(
        _("title in English"),
        max_length=200,
        blank=True,
        help_text=_("Shown to English readers; blank: the Swedish title."),
    )
    description_en = models.TextField(
        _("description in English"),
        blank=True,
        help_text=_("Shown to English readers; blank: the Swedish description."),
    )

    class Meta:
        abstract = True

    def title_in(self, language: str | None) -> str:
        """Return the title for a reader of this language."""
        if language and language.startswith("en") and self.title_en:
            return self.title_en
        return self.title

    def description_in(self, language: str | None) -> str:
        """Return the description for a reader of this language."""
        if language and language.startswith("en") and self.description_en:
            return self.description_en
        return self.description

    def title_language(self, language: str | None) -> str:
        """Return the language the title is shown in to this reader."""
        if language and language.startswith("en") and self.title_en:
            return "en"
        return "sv"


VAT_RATE_CHOICES = [(0, "0 %"), (6, "6 %"), (12, "12 %"), (25, "25 %")]


class TicketType(EnglishTexts):
    """A kind of ticket with its price; offered for events through offers."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    price = MoneyField(
        _("price (SEK)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    visible = models.BooleanField(
        _("visible"),
        default=True,
        help_text=_("Hidden types are never sold online; organisers issue them."),
    )
    # VAT: the price includes it. Admission to performances is 6 %; a
    # dinner-and-show package puts its dinner part at 12 % (vat_part_*).
    vat_rate = models.PositiveSmallIntegerField(
        _("VAT rate (%)"), choices=VAT_RATE_CHOICES, default=6
    )
    vat_part_rate = models.PositiveSmallIntegerField(
        _("VAT rate of a part of the price (%)"),
        choices=VAT_RATE_CHOICES,
        null=True,
        blank=True,
        help_text=_("For example the dinner of a dinner and show, at 12 %."),
    )
    vat_part_amount = models.DecimalField(
        _("that part of the price (SEK, VAT included)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
    )

    class Meta:
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        ordering = ["id"]

    def __str__(self) -> str:
        # The price as the reader's language writes it ("199,00 kr").
        return f"{self.title} ({number_format(self.price, decimal_pos=2)} kr)"

    def clean(self) -> None:
        super().clean()
        problem = None if self.price is None else swish_price_problem(self.price)
        if problem:
            raise ValidationError({"price": problem})
        if (self.vat_part_rate is None) != (self.vat_part_amount is None):
            raise ValidationError(
                {"vat_part_amount": _("Give both the part's rate and its amount.")}
            )
        if (
            self.vat_part_amount is not None
            and self.price is not None
            and self.vat_part_amount > self.price
        ):
            raise ValidationError(
                {"vat_part_amount": _("The part is larger than the price.")}
            )


class ChapterEvent(EnglishTexts):
    """An event with a number of seats that buyers reserve and pay for."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    event_at = models.DateTimeField(_("starts at"))
    doors_open_minutes = models.PositiveIntegerField(
        _("doors open (minutes before start)"), default=30
    )
    sales_start_at = models.DateTimeField(_("sales start"), null=True, blank=True)
    sales_stop_at = models.DateTimeField(_("sales stop"))
    seats = models.PositiveIntegerField(_("seats"))
    max_tickets_per_payment = models.PositiveIntegerField(
        _("max tickets per order"), default=8, validators=[MinValueValidator(1)]
    )
    reservation_minutes = models.PositiveIntegerField(
        _("reservation hold (minutes)"), default=15, validators=[MinValueValidator(1)]
    )
    swish_message = models.CharField(
        _("Swish message"),
        max_length=50,
        blank=True,
        help_text=_("Shown in the buyer's Swish app; at most 50 characters."),
    )
    ticket_types = models.ManyToManyField(
        TicketType,
        through="TicketOffer",
        related_name="events",
        verbose_name=_("ticket types"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["event_at", "id"]
        indexes = [models.Index(fields=["sales_stop_at", "event_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def reservation_duration(self) -> timedelta:
        return timedelta(minutes=self.reservation_minutes)

    @property
    def doors_open_at(self):
        return self.event_at - timedelta(minutes=self.doors_open_minutes)


class TicketOffer(models.Model):
    """A ticket type offered for an event, with an optional limit of its own."""

    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=_("event"),
    )
    ticket_type = models.ForeignKey(
        TicketType,
        on_delete=models.PROTECT,
        related_name="offers",
        verbose_name=_("ticket type"),
    )
    limit = models.PositiveIntegerField(
        _("limit"),
        null=True,
        blank=True,
        help_text=_("At most this many of this type for the event (blank: no limit)."),
    )

    class Meta:
        verbose_name = _("ticket offer")
        verbose_name_plural = _("ticket offers")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "ticket_type"], name="unique_offer_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_type} @ {self.event}"
