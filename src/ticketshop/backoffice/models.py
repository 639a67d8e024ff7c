"""The back office's own records: the audit log and the buyer e-mails.

- ``AuditEntry``: every organiser action, who, when, what, before and after,
  per order and per event.
- ``Mailing``: a mass e-mail to the paid buyers of one or more events.
- ``OutgoingMail``: one e-mail to one address (a mailing's recipient, or a
  cancellation notice). Its unique ``key`` makes a recipient's row exist
  once; the task that sends it claims the row first (like delivery's ticket
  e-mail), so it is sent once even when a worker dies or a task runs twice.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order

# Each action code in words (codes stay in the table: filters, exports).
AUDIT_ACTIONS = {
    "issue": _("tickets issued"),
    "cancel": _("order cancelled"),
    "cancel_tickets": _("tickets cancelled"),
    "retry_refund": _("refund retried"),
    "return_money": _("money not accepted paid back"),
    "settle_paid": _("unknown payment marked paid"),
    "settle_released": _("unknown payment released"),
    "settle_asked_swish": _("open payment cancelled at Swish first"),
    "refund_settled": _("refund paid back"),
    "refund_failed": _("refund failed"),
    "exchange": _("order exchanged"),
    "change_email": _("e-mail address changed"),
    "resend": _("tickets resent"),
    "mailing": _("mass e-mail sent"),
    "export": _("data exported"),
    "event_change": _("event changed"),
    # The fair release (audit.record_queue for the shop's own steps).
    "release_settings": _("sale mode changed"),
    "release_pause": _("admissions paused"),
    "release_resume": _("admissions resumed"),
    "release_draw": _("draw made"),
    "release_admit": _("buyer admitted from the queue"),
    "release_lapse": _("admission lapsed"),
    "waitlist_offer": _("seats offered from the waiting list"),
    "waitlist_taken": _("offer taken"),
    "waitlist_declined": _("offer declined"),
    "waitlist_lapsed": _("offer lapsed"),
    "books_settings": _("bookkeeping settings changed"),
    "invoice": _("invoice request handled"),
}


class AuditEntry(models.Model):
    """One organiser action, as it was done."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("user"),
    )
    # Kept when the user is deleted.
    username = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    summary = models.TextField(_("what"))
    event = models.ForeignKey(
        ChapterEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("event"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("order"),
    )
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    # The summary in each language of the shop ({"sv": ..., "en": ...}), so
    # that each reader sees it in their own; ``summary`` is the default
    # language's (searches; entries recorded before this existed).
    summaries = models.JSONField(
        _("summary by language"), default=dict, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        permissions = [
            ("view_dashboard", _("Can see the sales dashboard")),
            ("issue_tickets", _("Can issue complimentary and manual tickets")),
            ("refund_orders", _("Can cancel and refund orders")),
            ("exchange_orders", _("Can exchange tickets")),
            ("fix_orders", _("Can correct buyers' e-mail and resend tickets")),
            ("export_data", _("Can export attendee lists and bookkeeping")),
            ("view_door_list", _("Can see check-in figures and the door list")),
            ("send_mailings", _("Can send e-mail to buyers")),
        ]

    def __str__(self) -> str:
        # In the shop's time zone, like every other time on the page.
        at = timezone.localtime(self.at) if self.at else None
        when = f"{at:%Y-%m-%d %H:%M}" if at else ""
        return f"{when} {self.username}: {self.action_label()}"

    def action_label(self) -> str:
        """The action in words, in the active language."""
        return str(AUDIT_ACTIONS.get(self.action, self.action))

    def summary_text(self) -> str:
        """The summary in the active language (as written, for entries
        recorded in one language only)."""
        texts = self.summaries or {}
        return texts.get((get_language() or "")[:2]) or self.summary


class Mailing(models.Model):
    """A mass e-mail to the paid buyers of some events."""

    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    events = models.ManyToManyField(
        ChapterEvent, related_name="mailings", verbose_name=_("events")
    )
    created_by = models.CharField(_("sent by"), max_length=150)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class MailStatus(models.TextChoices):
    PENDING = "PENDING", _("waiting to be sent")
    SENT = "SENT", _("sent")
    FAILED = "FAILED", _("failed, will be retried")
    GAVE_UP = "GAVE_UP", _("failed, no more retries")


class OutgoingMail(models.Model):
    """One e-mail to one address, sent once by the task outbox."""

    # "mailing:<id>:<address>" or "cancel:<order>:<n>": one row per e-mail.
    key = models.CharField(max_length=300, unique=True, editable=False)
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mails",
        verbose_name=_("mailing"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backoffice_mails",
        verbose_name=_("order"),
    )
    recipient = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=MailStatus.choices,
        default=MailStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail to a buyer")
        verbose_name_plural = _("e-mails to buyers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "recipient"], name="one_mail_per_recipient"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outgoing_unsent_idx",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"


class SalesOverview(ChapterEvent):
    """The back office's entry in the admin index: the sales dashboard, the
    tools per event, exports and mailings (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("sales and guests")
        verbose_name_plural = _("sales and guests")
