"""A fair release: an event's sale mode, its queue entries and the draw.

An event without a ``Release`` row is sold first come first served (the
shop's behaviour before releases existed). A release in ``random_window``
mode opens a queue before the sale: every entry that joins before the
window closes gets a random place in the draw (``release.draw``), later
ones queue behind in arrival order; entries are admitted in that order and
only an admitted entry may reserve (``release.gate``).

Only ``release/services.py`` changes an ``Entry``'s state, through its
machine ``release_entry`` (``release/machines.py``).
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent

# A window at least this long is a ballot: an entry counts once its e-mail
# address is confirmed, and admitted buyers get an e-mailed link instead of
# waiting on the queue page.
BALLOT_WINDOW = timedelta(hours=1)


def new_seed() -> str:
    """32 random bytes, hex: the secret the draw is derived from."""
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    """SHA-256 (hex) of the seed's bytes: shown before the window opens."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def new_confirm_token() -> str:
    return secrets.token_urlsafe(32)


def new_public_id() -> str:
    """A random, url-safe id of about 16 characters (published after the draw)."""
    return secrets.token_urlsafe(12)


class SaleMode(models.TextChoices):
    FIRST_COME = "first_come", _("first come, first served")
    RANDOM_WINDOW = "random_window", _("random window (a queue with a draw)")


class Release(models.Model):
    """How an event's tickets are released: its sale mode and its queue."""

    event = models.OneToOneField(
        ChapterEvent,
        on_delete=models.CASCADE,
        related_name="release",
        verbose_name=_("event"),
    )
    mode = models.CharField(
        _("sale mode"),
        max_length=16,
        choices=SaleMode.choices,
        default=SaleMode.FIRST_COME,
    )
    queue_opens_at = models.DateTimeField(_("queue opens"), null=True, blank=True)
    sale_opens_at = models.DateTimeField(_("sale opens"), null=True, blank=True)
    window_closes_at = models.DateTimeField(
        _("window closes"),
        null=True,
        blank=True,
        help_text=_(
            "Everyone who joins before this gets a random place; later arrivals"
            " queue behind in arrival order. A window of an hour or more after"
            " the sale opens is a ballot."
        ),
    )
    seed = models.CharField(max_length=64, default=new_seed, editable=False)
    seed_commitment = models.CharField(
        _("seed commitment (SHA-256)"), max_length=64, editable=False
    )
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    # The last place the draw gave (the draw's entries are places 1 to this):
    # entries ranked later, stragglers taken after the draw included, are
    # not part of the published draw.
    drawn_up_to = models.PositiveIntegerField(
        _("places given by the draw"), null=True, blank=True, editable=False
    )
    admitted_up_to = models.PositiveIntegerField(_("admitted up to (rank)"), default=0)
    admit_seconds = models.PositiveIntegerField(
        _("time to reserve once admitted (seconds)"),
        default=600,
        validators=[MinValueValidator(30)],
    )
    max_checking_out = models.PositiveIntegerField(
        _("at most this many buyers checking out at once"),
        default=100,
        validators=[MinValueValidator(1)],
    )
    overbook_factor = models.DecimalField(
        _("overbooking factor"),
        max_digits=3,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_(
            "Admit while the seats held or about to be held stay below the"
            " seats left times this (1.0-2.0)."
        ),
    )
    paused = models.BooleanField(_("admissions paused"), default=False)
    bind_swish_number = models.BooleanField(
        _("bind each entry to a Swish number"), default=False
    )
    offer_seconds_before_show_day = models.PositiveIntegerField(
        _("waiting-list offer time before the show day (seconds)"),
        default=6 * 3600,
    )
    offer_seconds_on_show_day = models.PositiveIntegerField(
        _("waiting-list offer time on the show day (seconds)"), default=20 * 60
    )
    sold_out_at = models.DateTimeField(_("sold out at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")

    def __str__(self) -> str:
        return f"{self.event} ({self.get_mode_display()})"

    def save(self, *args, **kwargs):
        # The commitment always matches the seed it commits to.
        self.seed_commitment = commitment_of(self.seed)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "seed_commitment"}
        super().save(*args, **kwargs)

    @property
    def queued(self) -> bool:
        """Reservations need an admission (random window mode)."""
        return self.mode == SaleMode.RANDOM_WINDOW

    @property
    def is_ballot(self) -> bool:
        if not (self.window_closes_at and self.sale_opens_at):
            return False
        return self.window_closes_at - self.sale_opens_at >= BALLOT_WINDOW

    @property
    def admit_duration(self) -> timedelta:
        return timedelta(seconds=self.admit_seconds)


class EntryState(models.TextChoices):
    WAITING = "waiting", _("waiting")
    ADMITTED = "admitted", _("admitted")
    RESERVED = "reserved", _("reserved")
    PAID = "paid", _("paid")
    LAPSED = "lapsed", _("lapsed")
    PASSED = "passed", _("passed (address not confirmed)")
    LEFT = "left", _("left")
    SOLD_OUT_WAITING = "sold_out_waiting", _("on the waiting list")


class Entry(models.Model):
    """One person's place in a release's queue (or its waiting list)."""

    release = models.ForeignKey(
        Release,
        on_delete=models.CASCADE,
        related_name="entries",
        verbose_name=_("release"),
    )
    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=new_public_id
    )
    session_key_hash = models.CharField(max_length=64)
    email = models.EmailField(_("e-mail"))
    email_normalised = models.CharField(max_length=254)
    tickets_wanted = models.PositiveIntegerField(
        _("tickets wanted"), validators=[MinValueValidator(1)]
    )
    language = models.CharField(_("language"), max_length=8, default="sv")
    joined_at = models.DateTimeField(_("joined at"))
    rank = models.PositiveIntegerField(_("place"), null=True, blank=True)
    state = models.CharField(
        _("state"),
        max_length=24,
        choices=EntryState.choices,
        default=EntryState.WAITING,
    )
    email_confirmed_at = models.DateTimeField(
        _("address confirmed at"), null=True, blank=True
    )
    confirm_token = models.CharField(
        max_length=64, unique=True, default=new_confirm_token, editable=False
    )
    # When the confirmation link was e-mailed: it is sent once, at the join
    # or (an admitted entry whose join's e-mail is still queued) at once on
    # admission, whichever comes first.
    confirm_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)
    # When the buyer was first told of the turn (a status answer or the queue
    # page): the time to reserve counts from then (``services.told``).
    told_at = models.DateTimeField(null=True, blank=True, editable=False)
    admission_expires_at = models.DateTimeField(
        _("admission expires at"), null=True, blank=True
    )
    swish_number = models.CharField(_("Swish number"), max_length=20, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="release_entries",
        verbose_name=_("order"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        ordering = ["release", "rank", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "session_key_hash"],
                name="release_one_entry_per_session",
            ),
            models.UniqueConstraint(
                fields=["release", "email_normalised"],
                name="release_one_entry_per_email",
            ),
            models.UniqueConstraint(
                fields=["release", "swish_number"],
                condition=~Q(swish_number=""),
                name="release_one_entry_per_swish_number",
            ),
            models.UniqueConstraint(
                fields=["release", "rank"],
                condition=Q(rank__isnull=False),
                name="release_one_entry_per_rank",
            ),
        ]
        indexes = [
            models.Index(fields=["release", "state", "rank"]),
        ]

    def __str__(self) -> str:
        return self.public_id
