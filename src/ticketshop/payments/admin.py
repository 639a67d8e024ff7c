"""Admin of Swish payments; shop/admin.py composes these into the order admin.

- ``order_admin_actions``: "Refund via Swish" (money paid after the order
  failed, or a paid order cancelled with its refund), and "Mark paid" /
  "Release" for an order whose payment outcome Swish could not tell (DS24);
- ``order_admin_inlines``: the order's Swish payment requests and refunds;
- ``order_admin_list_filters``: orders with money to return or an unknown
  payment outcome;
- ``order_admin_readonly_fields``: the Swish state in one line.
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from ticketshop.admin_permissions import NoAddNoDeleteMixin
from ticketshop.orders import lifecycle
from ticketshop.orders.admin import Effect, confirm_action, seats_text
from ticketshop.orders.models import OrderStatus

from .common import UNKNOWN_OUTCOME
from .models import SwishPayment, SwishRefund, SwishStatus
from .refunds import money_to_return, refund_order
from .settle import resolve_unknown_payment

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
    "settled_at",
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


def _refund_effect(order) -> Effect:
    to_return = money_to_return(order)
    if to_return:
        amount = sum((left for _, left in to_return), Decimal("0"))
        return Effect(
            order,
            True,
            seats=_("unchanged"),
            money=_("%(amount)s kr paid back through Swish (not accepted)")
            % {"amount": amount},
            tickets=_("unchanged"),
        )
    if order.status == OrderStatus.PAID and lifecycle.refund_expected(order):
        return Effect(
            order,
            True,
            seats=seats_text(order),
            money=_("%(amount)s kr paid back through Swish")
            % {"amount": order.total_price},
            tickets=_("stop opening the door; the order is cancelled"),
        )
    return Effect(order, False, why=_("no paid Swish payment to refund."))


def _refund(request):
    def perform(order) -> None:
        ids = refund_order(order_id=order.pk, requested_by=request.user.get_username())
        messages.success(
            request,
            _("%(ref)s: refund requested (%(ids)s).")
            % {"ref": order.reference, "ids": ", ".join(ids)},
        )

    return perform


@admin.action(description=_("Refund via Swish"), permissions=["change"])
def refund_via_swish(modeladmin, request, queryset):
    """Pay back money the shop did not accept (paid after the order failed,
    or twice); a normally paid order is cancelled and refunded in full.
    Confirmed on a page that says what happens to seats and money."""
    return confirm_action(
        modeladmin,
        request,
        queryset,
        action="refund_via_swish",
        title=_("Refund via Swish"),
        question=_("Refund these orders? This is what happens to each:"),
        effects=[_refund_effect(order) for order in queryset],
        perform=_refund(request),
    )


def _resolve_effect(order, *, paid: bool) -> Effect:
    if order.status != OrderStatus.RESERVED or not order.payment_pending:
        return Effect(order, False, why=_("no payment with an unknown outcome."))
    if paid:
        return Effect(
            order,
            True,
            seats=_("kept: the order is paid"),
            money=_("%(amount)s kr recorded as received (checked with the bank)")
            % {"amount": order.total_price},
            tickets=_("valid at the door; e-mailed to the buyer"),
        )
    return Effect(
        order,
        True,
        seats=seats_text(order),
        money=_("none received"),
        tickets=_("void"),
    )


def _resolve(modeladmin, request, queryset, *, paid: bool, action: str):
    def perform(order) -> None:
        resolve_unknown_payment(order_id=order.pk, paid=paid)
        messages.success(
            request, _("%(ref)s: settled by hand.") % {"ref": order.reference}
        )

    return confirm_action(
        modeladmin,
        request,
        queryset,
        action=action,
        title=_("Settle an unknown payment outcome"),
        question=_("Settle these payments by hand? This is what happens to each:"),
        effects=[_resolve_effect(order, paid=paid) for order in queryset],
        perform=perform,
    )


@admin.action(
    description=_("Unknown payment outcome: mark paid (checked with the bank)"),
    permissions=["change"],
)
def mark_unknown_payment_paid(modeladmin, request, queryset):
    return _resolve(
        modeladmin, request, queryset, paid=True, action="mark_unknown_payment_paid"
    )


@admin.action(
    description=_("Unknown payment outcome: release (not paid)"),
    permissions=["change"],
)
def release_unknown_payment(modeladmin, request, queryset):
    return _resolve(
        modeladmin, request, queryset, paid=False, action="release_unknown_payment"
    )


class NeedsSwishFollowUpFilter(admin.SimpleListFilter):
    title = _("Swish follow-up")
    parameter_name = "swish"

    def lookups(self, request, model_admin):
        return [
            ("refund", _("paid but not accepted (refund)")),
            ("unknown", _("payment outcome unknown (DS24)")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "refund":
            return queryset.filter(
                swish_payments__status=SwishStatus.PAID, needs_attention=True
            ).distinct()
        if self.value() == "unknown":
            return queryset.filter(
                swish_payments__error_code=UNKNOWN_OUTCOME, payment_pending=True
            ).distinct()
        return queryset


order_admin_actions = [
    refund_via_swish,
    mark_unknown_payment_paid,
    release_unknown_payment,
]
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
