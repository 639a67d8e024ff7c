from django.contrib import admin

from .models import TicketType


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["title", "price", "visible"]
    list_filter = ["visible"]
    search_fields = ["title"]
