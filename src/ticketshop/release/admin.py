from django.contrib import admin

from .models import Entry, Release


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["event", "mode", "sale_opens_at", "window_closes_at", "drawn_at"]
    readonly_fields = ["seed_commitment", "drawn_at", "admitted_up_to", "sold_out_at"]


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["public_id", "release", "rank", "state", "tickets_wanted"]
    list_filter = ["state"]
    search_fields = ["public_id", "email"]
    # The state machine writes every field that matters; the admin only shows.
    readonly_fields = [
        f
        for f in (
            "release",
            "public_id",
            "email",
            "tickets_wanted",
            "joined_at",
            "rank",
            "state",
            "email_confirmed_at",
            "admitted_at",
            "admission_expires_at",
            "swish_number",
            "order",
            "language",
        )
    ]
    exclude = ["session_key_hash", "email_normalised"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
