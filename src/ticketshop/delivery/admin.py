"""Admin of ticket delivery; shop/admin.py composes these into the order admin.

- ``order_admin_actions``: "Resend tickets" for the selected paid orders;
- ``order_admin_inlines``: the delivery state (attempts, last error, sent at);
- ``order_admin_readonly_fields``: a one-line summary of it;
- ``order_admin_list_filters``: paid orders whose e-mail is not sent yet.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from .models import TicketDelivery
from .selectors import unsent_paid_orders_q


class _LanguageOnlyFormSet(forms.BaseInlineFormSet):
    """Saves only the language: the rest (the state above all, which only
    the delivery's state machine writes) may have changed since the page
    was loaded, and a whole-row save would put the old values back."""

    def save_existing(self, form, obj, commit=True):
        delivery = form.save(commit=False)
        if commit:
            delivery.save(update_fields=["language", "updated_at"])
        return delivery


class TicketDeliveryInline(admin.StackedInline):
    model = TicketDelivery
    formset = _LanguageOnlyFormSet
    verbose_name = _("ticket e-mail")
    verbose_name_plural = _("ticket e-mail")
    can_delete = False
    max_num = 1
    fields = [
        "status",
        "recipient",
        "sent_at",
        "times_sent",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "last_error",
        "language",
    ]
    # The language stays editable: it applies to the next (re)send.
    readonly_fields = [name for name in fields if name != "language"]

    def has_add_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "language":
            return forms.ChoiceField(
                choices=settings.LANGUAGES, label=db_field.verbose_name
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.display(description=_("ticket e-mail"))
def ticket_email_state(order) -> str:
    """Summarise the order's ticket e-mail in one line."""
    delivery = TicketDelivery.objects.filter(order=order).first()
    if delivery is None:
        return _("none (the order is not paid)")
    state = delivery.get_status_display()
    if delivery.sent_at:
        sent = formats.date_format(
            timezone.localtime(delivery.sent_at), "SHORT_DATETIME_FORMAT"
        )
        return f"{state}: {sent} → {delivery.recipient}"
    if delivery.last_error:
        return f"{state} ({delivery.attempts}): {delivery.last_error[:200]}"
    return state


class TicketEmailListFilter(admin.SimpleListFilter):
    title = _("ticket e-mail")
    parameter_name = "ticket_email"

    def lookups(self, request, model_admin):
        return [
            ("unsent", _("Paid, not sent yet")),
            ("failing", _("Paid, sending failed")),
            ("sent", _("Sent")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "unsent":
            return queryset.filter(unsent_paid_orders_q())
        if self.value() == "failing":
            return queryset.filter(unsent_paid_orders_q()).filter(
                ~Q(ticket_delivery__last_error="")
            )
        if self.value() == "sent":
            return queryset.filter(ticket_delivery__sent_at__isnull=False)
        return queryset


# "Resend tickets" is the back office's use case (backoffice/order_actions.py).
order_admin_actions = []
order_admin_inlines = [TicketDeliveryInline]
order_admin_readonly_fields = [ticket_email_state]
order_admin_list_filters = [TicketEmailListFilter]
