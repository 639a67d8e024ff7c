"""The order admin's actions (Django admin): each calls the back office's use
case for it (``backoffice.services``), so an organiser's action writes the
same audit entry and the same buyer's e-mail from either surface.

shop/admin.py composes ``order_admin_actions`` into the order page. Each
action's confirmation page asks the use case whether it is allowed now
(``*_allowed``, answered from the order's lifecycle) and says what happens
to seats and money; "Yes" runs the use case for every order it allowed.
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ticketshop.delivery.errors import OrderNotPaid
from ticketshop.orders import lifecycle
from ticketshop.orders.admin import Effect, confirm_action, seats_text
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments.refunds import money_to_return

from . import services

# --- Cancel (no Swish money to pay back) -------------------------------------------


def _cancel_effect(order: Order) -> Effect:
    verdict = services.cancel_allowed(order)
    if not verdict:
        return Effect(order, False, why=verdict.why)
    if order.status == OrderStatus.PAID and lifecycle.refund_expected(order):
        # This action pays nothing back: "Refund via Swish" does.
        return Effect(order, False, why=_("paid with Swish: use “Refund via Swish”."))
    money = (
        _("none (not paid)")
        if order.status == OrderStatus.RESERVED
        else _("nothing to pay back (%(method)s)")
        % {"method": order.get_payment_method_display()}
    )
    return Effect(
        order,
        True,
        seats=seats_text(order),
        money=money,
        tickets=_("stop opening the door"),
    )


@admin.action(
    description=_("Cancel (unpaid, free or paid without Swish)"),
    permissions=["change"],
)
def cancel_orders(modeladmin, request, queryset):
    """Cancel unpaid holds and orders with no Swish money to return."""

    def perform(order: Order) -> None:
        services.cancel_order(user=request.user, order_id=order.pk)

    return confirm_action(
        modeladmin,
        request,
        queryset,
        action="cancel_orders",
        title=_("Cancel orders"),
        question=_("Cancel these orders? This is what happens to each:"),
        effects=[_cancel_effect(order) for order in queryset],
        perform=perform,
    )


# --- Refund via Swish --------------------------------------------------------------


def _refund_effect(order: Order) -> Effect:
    verdict = services.refund_allowed(order)
    if not verdict:
        return Effect(order, False, why=verdict.why)
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
    return Effect(
        order,
        True,
        seats=seats_text(order),
        money=_("%(amount)s kr paid back through Swish")
        % {"amount": order.total_price},
        tickets=_("stop opening the door; the order is cancelled"),
    )


@admin.action(description=_("Refund via Swish"), permissions=["change"])
def refund_via_swish(modeladmin, request, queryset):
    """Pay back money the shop did not accept (paid after the order failed,
    or twice); a normally paid order is cancelled and refunded in full.
    Confirmed on a page that says what happens to seats and money."""

    def perform(order: Order) -> None:
        ids = services.refund_via_swish(user=request.user, order_id=order.pk)
        messages.success(
            request,
            _("%(ref)s: refund requested (%(ids)s).")
            % {"ref": order.reference, "ids": ", ".join(ids)},
        )

    return confirm_action(
        modeladmin,
        request,
        queryset,
        action="refund_via_swish",
        title=_("Refund via Swish"),
        question=_("Refund these orders? This is what happens to each:"),
        effects=[_refund_effect(order) for order in queryset],
        perform=perform,
    )


# --- An unknown payment outcome ----------------------------------------------------


def _settle_effect(order: Order, *, paid: bool) -> Effect:
    verdict = services.settle_allowed(order)
    if not verdict:
        return Effect(order, False, why=verdict.why)
    if services.must_ask_swish_first(order):
        # Never a final status Swish did not report: its answer decides.
        return Effect(
            order,
            True,
            seats=_("held until Swish answers"),
            money=_(
                "Swish is asked to cancel the running request first: if the "
                "payer paid meanwhile, the order is paid; if Swish cancels "
                "it, the order is released; if Swish no longer knows it, "
                "choose this action again"
            ),
            tickets=_("as Swish answers"),
        )
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


_SWISH_ANSWERS = {
    "PAID": _("%(ref)s: Swish says it was paid; the order is paid."),
    "CANCELLED": _("%(ref)s: Swish cancelled the request; the order is released."),
    "unknown": _(
        "%(ref)s: Swish no longer knows the request. Check with the bank, "
        "then choose the action again."
    ),
    "unreachable": _("%(ref)s: Swish could not be reached; nothing changed."),
}


def _settle(modeladmin, request, queryset, *, paid: bool, action: str):
    def perform(order: Order) -> None:
        done = services.settle_unknown(user=request.user, order_id=order.pk, paid=paid)
        if isinstance(done, str):
            text = _SWISH_ANSWERS.get(done, _("%(ref)s: Swish answered %(answer)s."))
            level = messages.WARNING if done == "unreachable" else messages.INFO
            messages.add_message(
                request, level, text % {"ref": order.reference, "answer": done}
            )
            return
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
        effects=[_settle_effect(order, paid=paid) for order in queryset],
        perform=perform,
    )


@admin.action(
    description=_("Unknown payment outcome: mark paid (checked with the bank)"),
    permissions=["change"],
)
def mark_unknown_payment_paid(modeladmin, request, queryset):
    return _settle(
        modeladmin, request, queryset, paid=True, action="mark_unknown_payment_paid"
    )


@admin.action(
    description=_("Unknown payment outcome: release (not paid)"),
    permissions=["change"],
)
def release_unknown_payment(modeladmin, request, queryset):
    return _settle(
        modeladmin, request, queryset, paid=False, action="release_unknown_payment"
    )


# --- Resend tickets ----------------------------------------------------------------


@admin.action(description=_("Resend tickets"), permissions=["change"])
def resend_tickets_action(modeladmin, request, queryset):
    """Send the ticket e-mail of each selected paid order again (the same use
    case as the back office's resend: audited)."""
    sent = skipped = 0
    for order in queryset:
        if not services.resend_allowed(order):
            skipped += 1
            continue
        try:
            services.resend_order(user=request.user, order_id=order.pk)
        except OrderNotPaid:
            skipped += 1
        else:
            sent += 1
    if sent:
        modeladmin.message_user(
            request,
            ngettext(
                "The tickets of %(count)d order will be sent again.",
                "The tickets of %(count)d orders will be sent again.",
                sent,
            )
            % {"count": sent},
            messages.SUCCESS,
        )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d order is not paid; no tickets sent.",
                "%(count)d orders are not paid; no tickets sent.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


order_admin_actions = [
    cancel_orders,
    refund_via_swish,
    mark_unknown_payment_paid,
    release_unknown_payment,
    resend_tickets_action,
]
