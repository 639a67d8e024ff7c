"""Admin for organisers: events with their seat counts, orders and tickets.

The event admin lives here, not in events/, because its seat counts use the
one definition of a live ticket (orders.selectors) and events never import
orders.
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ticketshop.events.models import ChapterEvent, TicketOffer

from .models import Order, OrderStatus, Ticket
from .selectors import live_order_q


class TicketOfferInline(admin.TabularInline):
    model = TicketOffer
    extra = 1
    autocomplete_fields = ["ticket_type"]


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
            {"fields": ["seats", "max_tickets_per_payment", "reservation_minutes"]},
        ),
    ]

    def get_queryset(self, request):
        live = live_order_q(now=timezone.now(), prefix="tickets__order__")
        return (
            super()
            .get_queryset(request)
            .annotate(
                sold_count=Count(
                    "tickets", filter=Q(tickets__order__status=OrderStatus.PAID)
                ),
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
        return max(0, obj.seats - obj.live_count)


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    fields = ["external_id", "ticket_type", "price", "times_used"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "event",
        "status",
        "email",
        "total_price",
        "payment_pending",
        "needs_attention",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "event", "payment_pending", "needs_attention"]
    search_fields = [
        "reference",
        "email",
        "payment_reference",
        "tickets__external_id",
    ]
    list_select_related = ["event"]
    readonly_fields = [
        "reference",
        "event",
        "total_price",
        "expires_at",
        "payment_pending",
        "payment_started_at",
        "paid_at",
        "payment_reference",
        "created_at",
        "updated_at",
    ]
    exclude = ["token"]
    inlines = [TicketInline]
    show_full_result_count = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "event",
        "ticket_type",
        "price",
        "order",
        "times_used",
    ]
    list_filter = ["event", "ticket_type", "order__status"]
    search_fields = ["external_id", "order__email", "order__reference"]
    list_select_related = ["event", "ticket_type", "order"]
    readonly_fields = ["external_id", "order", "event", "ticket_type", "price"]
