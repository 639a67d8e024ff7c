"""Admin of Swish payments; shop/admin.py composes these into the order admin.

- ``order_admin_actions``: "Refund via Swish" (money paid after the order
  failed, or a paid order cancelled with its refund), and "Mark paid" /
  "Release" for an order whose payment outcome Swish could not tell (DS24);
- ``order_admin_inlines``: the order's Swish payment requests and refunds;
- ``order_admin_list_filters``: orders with money to return or an unknown
  payment outcome;
- ``order_admin_readonly_fields``: the Swish state in one line.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ticketshop.admin_permissions import NoAddNoDeleteMixin

from .common import NOT_FOUND, UNKNOWN_OUTCOME
from .models import SwishPayment, SwishRefund, SwishStatus

_SWISH_FIELDS = [
    "request_id",
    "status",
    "error_code",
    "error_message",
    "amount",
    "payment_reference",
    "date_paid",
    "token",
    "callback_identifier",
    "created_at",
    "checked_at",
    "callback_at",
    "next_read_at",
    "swish_reads",
    "settled_at",
    "mismatch",
    "raw",
]


class SwishPaymentInline(admin.StackedInline):
    model = SwishPayment
    verbose_name = _("Swish payment request")
    verbose_name_plural = _("Swish payment requests")
    extra = 0
    can_delete = False
    fields = _SWISH_FIELDS
    readonly_fields = _SWISH_FIELDS

    def has_add_permission(self, request, obj=None):
        return False


@admin.display(description=_("Swish"))
def swish_state(order) -> str:
    """Summarise the order's latest Swish payment request in one line."""
    payment = SwishPayment.objects.filter(order=order).order_by("-id").first()
    if payment is None:
        return _("no payment started")
    parts = [payment.get_status_display()]
    if payment.error_code:
        parts.append(payment.error_code)
    if payment.payment_reference:
        parts.append(payment.payment_reference)
    refunds = SwishRefund.objects.filter(payment__order=order)
    for refund in refunds:
        parts.append(f"refund {refund.amount} kr: {refund.get_status_display()}")
    return " · ".join(str(part) for part in parts)


class NeedsSwishFollowUpFilter(admin.SimpleListFilter):
    title = _("Swish follow-up")
    parameter_name = "swish"

    def lookups(self, request, model_admin):
        return [
            ("refund", _("paid but not accepted (refund)")),
            ("unknown", _("payment outcome unknown (DS24, or Swish forgot it)")),
            ("mismatch", _("Swish's answer differs from the request")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "refund":
            return queryset.filter(
                swish_payments__status=SwishStatus.PAID, needs_attention=True
            ).distinct()
        if self.value() == "unknown":
            return queryset.filter(
                swish_payments__error_code__in=[UNKNOWN_OUTCOME, NOT_FOUND],
                payment_pending=True,
            ).distinct()
        if self.value() == "mismatch":
            return (
                queryset.exclude(swish_payments__mismatch="")
                .filter(swish_payments__isnull=False)
                .distinct()
            )
        return queryset


# "Refund via Swish" and "Mark paid" / "Release" are the back office's use
# cases (backoffice/order_actions.py), so they write its audit entry.
order_admin_actions = []
order_admin_inlines = [SwishPaymentInline]
order_admin_list_filters = [NeedsSwishFollowUpFilter]
order_admin_readonly_fields = [swish_state]


@admin.register(SwishPayment)
class SwishPaymentAdmin(NoAddNoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "request_id",
        "order",
        "status",
        "error_code",
        "amount",
        "payment_reference",
        "created_at",
        "settled_at",
    ]
    list_filter = ["status", "error_code"]
    search_fields = ["request_id", "payment_reference", "token", "order__reference"]
    list_select_related = ["order"]
    readonly_fields = ["order", *_SWISH_FIELDS, "message"]


@admin.register(SwishRefund)
class SwishRefundAdmin(NoAddNoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "refund_id",
        "payment",
        "amount",
        "status",
        "error_code",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status"]
    search_fields = ["refund_id", "payment__request_id", "payment__order__reference"]
    readonly_fields = [
        "payment",
        "refund_id",
        "callback_identifier",
        "amount",
        "status",
        "error_code",
        "error_message",
        "requested_by",
        "created_at",
        "sent_at",
        "send_attempts",
        "raw",
    ]
