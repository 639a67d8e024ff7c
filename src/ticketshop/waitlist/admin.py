from django.contrib import admin

from .models import Offer


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    """Every offer and what became of it (read only: the state machine and
    the buyer's answers change offers)."""

    list_display = (
        "pk",
        "event",
        "entry",
        "seats",
        "state",
        "offered_at",
        "expires_at",
    )
    list_filter = ("state",)
    search_fields = ("entry__email", "entry__public_id")
    list_select_related = ("event", "entry")
    readonly_fields = [f.name for f in Offer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
