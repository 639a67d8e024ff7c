from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Ticket


class ScannerAccount(models.Model):
    """A door scanner's login: its password is all the scanner app sends."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # Django's password hash format ("<algorithm>$<iterations>$<salt>$<hash>").
    password = models.CharField(_("password"), max_length=128, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    events = models.ManyToManyField(
        ChapterEvent,
        blank=True,
        related_name="scanner_accounts",
        verbose_name=_("events"),
        help_text=_("Only tickets of these events are admitted (none: every event)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("scanner account")
        verbose_name_plural = _("scanner accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        """Verify with the configured (deliberately slow) hasher."""
        return check_password(raw_password, self.password)


class ScanResult(models.TextChoices):
    ADMITTED = "ADMITTED", _("Admitted (use recorded)")
    VALID = "VALID", _("Paid, checked without use")
    NOT_PAID = "NOT_PAID", _("Not paid")
    WRONG_EVENT = "WRONG_EVENT", _("Ticket of another event")
    UNKNOWN = "UNKNOWN", _("Unknown ticket id")


class ScanLog(models.Model):
    """One scan that passed the password check: who, when, which ticket, result."""

    scanner = models.ForeignKey(
        ScannerAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scans",
        verbose_name=_("scanner account"),
    )
    # Kept beside the account so that the log still reads after an account is
    # deleted, and names the environment password (SCANNER_PASSWORD).
    scanner_name = models.CharField(_("scanner"), max_length=100)
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)
    external_id = models.CharField(_("ticket id as scanned"), max_length=64)
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scans",
        verbose_name=_("ticket"),
    )
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scans",
        verbose_name=_("event"),
    )
    use_requested = models.BooleanField(_("use requested"))
    result = models.CharField(_("result"), max_length=16, choices=ScanResult.choices)
    times_used_before = models.IntegerField(_("times used before"), null=True)
    client_address = models.GenericIPAddressField(
        _("client address"), null=True, blank=True
    )
    # Scans made offline and sent later by the scanner page: the page's key of
    # the scan (unique, so that a scan sent twice is applied once), what the
    # page showed at the door, and whether the server's answer contradicts
    # it (e.g. the ticket was used at another door meanwhile).
    offline_key = models.CharField(
        _("offline scan key"), max_length=64, null=True, blank=True, unique=True
    )
    offline_result = models.CharField(
        _("shown offline"), max_length=16, blank=True, default=""
    )
    conflict = models.BooleanField(_("conflict"), default=False)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scan log")
        ordering = ["-scanned_at", "-id"]
        indexes = [models.Index(fields=["event", "scanned_at"])]

    def __str__(self) -> str:
        return f"{self.external_id} {self.result} ({self.scanner_name})"


class EventCheckIn(ChapterEvent):
    """An event seen from the door: tickets admitted versus tickets sold."""

    class Meta:
        proxy = True
        verbose_name = _("check-in per event")
        verbose_name_plural = _("check-in per event")
