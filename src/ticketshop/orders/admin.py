"""Admin for organisers: events with their seat counts, orders and tickets.

The event admin lives here, not in events/, because its seat counts use the
one definition of a live ticket (orders.selectors) and events never import
orders.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ticketshop import audit
from ticketshop.admin_permissions import NoAddNoDeleteMixin
from ticketshop.errors import ShopError
from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.previews import (
    PreviewRefused,
    confirm_preview,
    refusal_message,
    sign_preview,
)

from .addresses import validate_email_address
from .history import order_history
from .lifecycle import TransitionNotAllowed
from .models import Order, OrderStatus, Ticket
from .seatlock import lock_event
from .seats import live_order_q


class TicketOfferInline(admin.TabularInline):
    model = TicketOffer
    extra = 1
    autocomplete_fields = ["ticket_type"]


def count_sold(event_id: int) -> int:
    """The event's paid tickets still valid (what lowering seats must keep)."""
    return Ticket.objects.filter(
        order__event_id=event_id,
        order__status=OrderStatus.PAID,
        cancelled_at__isnull=True,
    ).count()


class ChapterEventForm(forms.ModelForm):
    """The event, with a confirmation for seats below the tickets sold."""

    confirm_overbooking = forms.BooleanField(
        label=_("Yes, fewer seats than tickets sold"),
        required=False,
        help_text=_(
            "Needed only to set the seats below the tickets already sold: "
            "the event is then overbooked, and shown so on the dashboard."
        ),
    )

    class Meta:
        model = ChapterEvent
        # The admin's fieldsets choose what is shown; these are they.
        fields = [
            "title",
            "description",
            "location",
            "swish_message",
            "title_en",
            "description_en",
            "event_at",
            "doors_open_minutes",
            "sales_start_at",
            "sales_stop_at",
            "seats",
            "max_tickets_per_payment",
            "reservation_minutes",
        ]

    def clean(self):
        cleaned = super().clean()
        seats = cleaned.get("seats")
        if self.instance.pk and seats is not None and "seats" in self.changed_data:
            sold = count_sold(self.instance.pk)
            if seats < sold and not cleaned.get("confirm_overbooking"):
                self.add_error(
                    "seats",
                    _(
                        "%(sold)d tickets are sold: %(seats)d seats overbook the "
                        "event by %(over)d. Tick the confirmation below to save "
                        "anyway."
                    )
                    % {"sold": sold, "seats": seats, "over": sold - seats},
                )
        return cleaned


def _shown(value) -> str:
    """A field's value as the audit log writes it."""
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


@admin.register(ChapterEvent)
class ChapterEventAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "event_at",
        "sales_stop_at",
        "seats",
        "sold",
        "reserved",
        "left",
    ]
    search_fields = ["title", "location"]
    date_hierarchy = "event_at"
    inlines = [TicketOfferInline]
    fieldsets = [
        (None, {"fields": ["title", "description", "location", "swish_message"]}),
        (_("In English (optional)"), {"fields": ["title_en", "description_en"]}),
        (
            _("Time"),
            {
                "fields": [
                    "event_at",
                    "doors_open_minutes",
                    "sales_start_at",
                    "sales_stop_at",
                ]
            },
        ),
        (
            _("Seats"),
            {
                "fields": [
                    "seats",
                    "confirm_overbooking",
                    "max_tickets_per_payment",
                    "reservation_minutes",
                ]
            },
        ),
    ]
    form = ChapterEventForm

    def save_model(self, request, obj, form, change):
        """Save the event under its seat lock, and log what changed."""
        if not change:
            super().save_model(request, obj, form, change)
            audit.record(
                user=request.user,
                action="event_change",
                summary=lambda: (
                    _("Created event %(title)s (%(seats)d seats)")
                    % {"title": obj.title, "seats": obj.seats}
                ),
                event_id=obj.pk,
                after={"seats": obj.seats},
            )
            return
        # The admin's save runs in a transaction; the event's seat lock
        # (which also sets its seat counter unknown, so the next
        # reservation counts again under the new seats) makes the count of
        # tickets sold exact for the log.
        lock_event(event_id=obj.pk)
        fields = [
            f
            for f in form.changed_data
            if f in form.base_fields and f != "confirm_overbooking"
        ]
        before = {f: _shown(form.initial.get(f)) for f in fields}
        if "seats" in fields:
            before["seats"] = _shown(
                ChapterEvent.objects.values_list("seats", flat=True).get(pk=obj.pk)
            )
        super().save_model(request, obj, form, change)
        if not fields:
            return
        after = {f: _shown(getattr(obj, f)) for f in fields}
        sold = count_sold(obj.pk)
        overbooked = max(0, sold - obj.seats)

        def summary() -> str:
            names = {
                f: str(ChapterEvent._meta.get_field(f).verbose_name) for f in fields
            }
            changes = "; ".join(f"{names[f]}: {before[f]} → {after[f]}" for f in fields)
            text = _("Changed event %(title)s: %(changes)s") % {
                "title": obj.title,
                "changes": changes,
            }
            if overbooked and "seats" in fields:
                text += " " + _(
                    "(confirmed: %(sold)d tickets sold, overbooked by %(over)d)"
                ) % {"sold": sold, "over": overbooked}
            return text

        audit.record(
            user=request.user,
            action="event_change",
            summary=summary,
            event_id=obj.pk,
            before=before,
            after={**after, "sold": sold, "overbooked": overbooked},
        )

    def save_formset(self, request, form, formset, change):
        """Save the event's ticket offers, and log what changed."""
        changes = []
        for sub in formset.forms:
            if not sub.has_changed() or not hasattr(sub, "cleaned_data"):
                continue
            offer = sub.instance
            if sub.cleaned_data.get("DELETE"):
                if offer.pk:
                    changes.append(("removed", str(offer.ticket_type), "", ""))
                continue
            if not offer.pk:
                changes.append(
                    ("added", str(sub.cleaned_data.get("ticket_type")), "", "")
                )
                continue
            for name in sub.changed_data:
                changes.append(
                    (
                        name,
                        str(offer.ticket_type),
                        _shown(sub.initial.get(name)),
                        _shown(sub.cleaned_data.get(name)),
                    )
                )
        super().save_formset(request, form, formset, change)
        if not changes or not change:
            return
        event = form.instance

        def summary() -> str:
            parts = []
            for what, offer, old, new in changes:
                if what == "added":
                    parts.append(_("offered %(type)s") % {"type": offer})
                elif what == "removed":
                    parts.append(_("no longer offered %(type)s") % {"type": offer})
                else:
                    label = str(TicketOffer._meta.get_field(what).verbose_name)
                    parts.append(f"{offer}, {label}: {old} → {new}")
            return _("Changed the tickets of event %(title)s: %(changes)s") % {
                "title": event.title,
                "changes": "; ".join(parts),
            }

        audit.record(
            user=request.user,
            action="event_change",
            summary=summary,
            event_id=event.pk,
            after={"offers": [list(c) for c in changes]},
        )

    def get_queryset(self, request):
        live = live_order_q(now=timezone.now(), prefix="tickets__order__") & Q(
            tickets__cancelled_at__isnull=True
        )
        paid = Q(tickets__order__status=OrderStatus.PAID) & Q(
            tickets__cancelled_at__isnull=True
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                sold_count=Count("tickets", filter=paid),
                live_count=Count("tickets", filter=live),
            )
        )

    @admin.display(description=_("sold"), ordering="sold_count")
    def sold(self, obj):
        return obj.sold_count

    @admin.display(description=_("reserved (unpaid)"))
    def reserved(self, obj):
        return obj.live_count - obj.sold_count

    @admin.display(description=_("left"))
    def left(self, obj):
        if obj.sold_count > obj.seats:
            return _("overbooked +%(n)d") % {"n": obj.sold_count - obj.seats}
        return max(0, obj.seats - obj.live_count)


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    fields = ["external_id", "ticket_type", "price", "times_used", "cancelled_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@dataclass
class Effect:
    """What an action will do to one order, for its confirmation page."""

    order: Order
    allowed: bool
    seats: str = ""
    money: str = ""
    tickets: str = ""
    why: str = ""


def confirm_action(
    modeladmin,
    request,
    queryset,
    *,
    action: str,
    title: str,
    question: str,
    effects: list[Effect],
    perform: Callable[[Order], None],
):
    """Show what the action will do to seats and money; act once confirmed.

    The first POST (from the changelist) answers the confirmation page with
    a signed snapshot of the orders as shown; its "Yes" posts again with
    ``post=yes`` and the snapshot, and ``perform`` then runs for each order
    the page allowed (each re-checks its state under the lock). An order
    that changed since the page was shown (paid, partly refunded) stops the
    whole action: the page is shown again as things are now.
    """
    shown = _effects_snapshot(effects)
    if request.POST.get("post") == "yes":
        try:
            confirm_preview(request, action="orders." + action, preview=shown)
        except PreviewRefused as exc:
            modeladmin.message_user(
                request, refusal_message(exc.reason), messages.ERROR
            )
        else:
            for effect in effects:
                if not effect.allowed:
                    continue
                try:
                    perform(effect.order)
                except (TransitionNotAllowed, ShopError) as exc:
                    modeladmin.message_user(
                        request, f"{effect.order.reference}: {exc}", messages.WARNING
                    )
            return None
    context = {
        "snapshot": sign_preview(
            action="orders." + action, user_id=request.user.pk, content=shown
        ),
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "rows": effects,
        "any_allowed": any(e.allowed for e in effects),
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/orders/confirm_action.html", context)


def _effects_snapshot(effects: list[Effect]) -> dict:
    """What the confirmation page showed, as the data its effects come from."""
    return {
        "form": sorted(e.order.pk for e in effects),
        "orders": [
            [
                e.order.pk,
                e.allowed,
                e.order.status,
                e.order.ticket_count,
                str(e.order.total_price),
                e.order.refund_state,
                e.order.payment_pending,
            ]
            for e in sorted(effects, key=lambda e: e.order.pk)
        ],
    }


def seats_text(order: Order) -> str:
    return ngettext(
        "%(count)d seat released", "%(count)d seats released", order.ticket_count
    ) % {"count": order.ticket_count}


class OrderForm(forms.ModelForm):
    """Who the order is for; the address gets the shop's one check."""

    class Meta:
        model = Order
        fields = ["name", "email"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        # An order that never reached payment has no address yet.
        return validate_email_address(email) if email else email


@admin.register(Order)
class OrderAdmin(NoAddNoDeleteMixin, admin.ModelAdmin):
    """Orders are read here; their state changes only through actions that
    call the order's state machine (orders.lifecycle), each confirmed on a
    page that says what happens to seats and money. Only who the order is
    for (name, e-mail) can be edited."""

    list_display = [
        "reference",
        "event",
        "status",
        "email",
        "total_price",
        "payment_method",
        "refund_state",
        "payment_pending",
        "needs_attention",
        "created_at",
        "paid_at",
    ]
    list_filter = [
        "status",
        "event",
        "payment_method",
        "refund_state",
        "payment_pending",
        "needs_attention",
    ]
    search_fields = [
        "reference",
        "email",
        "name",
        "payment_reference",
        "tickets__external_id",
    ]
    list_select_related = ["event"]
    fields = [
        "reference",
        "event",
        "status",
        "name",
        "email",
        "ticket_count",
        "total_price",
        "payment_method",
        "refund_state",
        "due_at_door",
        "expires_at",
        "payment_pending",
        "payment_started_at",
        "paid_at",
        "payment_reference",
        "needs_attention",
        "attention_reason",
        "created_at",
        "updated_at",
        "history",
    ]
    readonly_fields = [f for f in fields if f not in ("name", "email")]
    form = OrderForm
    inlines = [TicketInline]
    # Its actions (cancel, refund, settle, resend) are the back office's use
    # cases: backoffice/order_actions.py, composed in by shop/admin.py.
    actions = []
    show_full_result_count = False

    @admin.display(description=_("Order history"))
    def history(self, obj):
        """Every transition of the order's state machine, oldest first."""
        if obj is None or obj.pk is None:
            return "-"
        context = {"history": order_history(obj.pk)}
        return render_to_string("orders/history.html", context)


@admin.register(Ticket)
class TicketAdmin(NoAddNoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "external_id",
        "event",
        "ticket_type",
        "price",
        "order",
        "times_used",
        "cancelled_at",
    ]
    list_filter = ["event", "ticket_type", "order__status"]
    search_fields = ["external_id", "order__email", "order__reference"]
    list_select_related = ["event", "ticket_type", "order"]
    fields = [
        "external_id",
        "order",
        "event",
        "ticket_type",
        "price",
        "times_used",
        "cancelled_at",
    ]
    readonly_fields = fields
