from django import forms
from django.contrib import admin

from .models import TicketType

DEFAULT_VAT_RATE = TicketType._meta.get_field("vat_rate").default


class TicketTypeForm(forms.ModelForm):
    """A form that leaves the VAT rate out keeps the default rate (6 %:
    admission), as scripts and older forms that post only the price do."""

    class Meta:
        model = TicketType
        fields = [
            "title",
            "title_en",
            "description",
            "description_en",
            "price",
            "visible",
            "vat_rate",
            "vat_part_rate",
            "vat_part_amount",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A reader's form (view permission only) has no fields to relax.
        if "vat_rate" in self.fields:
            self.fields["vat_rate"].required = False

    def clean_vat_rate(self):
        value = self.cleaned_data.get("vat_rate")
        return DEFAULT_VAT_RATE if value in (None, "") else value


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    form = TicketTypeForm
    list_display = ["title", "price", "vat_rate", "visible"]
    list_filter = ["visible", "vat_rate"]
    search_fields = ["title"]
