"""Admin for organisers: scanner accounts, the scan log, check-in per event."""

from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ticketshop.admin_permissions import ViewOnlyMixin

from .models import EventCheckIn, ScanLog, ScannerAccount
from .selectors import annotate_checkins


class ScannerAccountForm(forms.ModelForm):
    new_password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored only as a hash. Leave blank to keep the current password."),
    )

    class Meta:
        model = ScannerAccount
        fields = ["name", "new_password", "is_active", "events"]

    def clean_new_password(self):
        password = self.cleaned_data.get("new_password")
        if not self.instance.pk and not password:
            raise forms.ValidationError(_("A new scanner account needs a password."))
        if password:
            password_validation.validate_password(password)
        return password

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            account.set_password(self.cleaned_data["new_password"])
        if commit:
            account.save()
            self.save_m2m()
        return account


@admin.register(ScannerAccount)
class ScannerAccountAdmin(admin.ModelAdmin):
    form = ScannerAccountForm
    list_display = ["name", "is_active", "limited_to", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["events"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("events")

    @admin.display(description=_("events"))
    def limited_to(self, obj):
        titles = [event.title for event in obj.events.all()]
        return ", ".join(titles) if titles else _("every event")


@admin.register(ScanLog)
class ScanLogAdmin(admin.ModelAdmin):
    list_display = [
        "scanned_at",
        "event",
        "external_id",
        "scanner_name",
        "use_requested",
        "result",
        "times_used_before",
        "offline_result",
        "conflict",
        "client_address",
    ]
    list_filter = [
        "event",
        "result",
        "conflict",
        ("offline_key", admin.EmptyFieldListFilter),
        "use_requested",
        "scanner_name",
    ]
    search_fields = ["external_id", "scanner_name"]
    date_hierarchy = "scanned_at"
    list_select_related = ["event"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EventCheckIn)
class EventCheckInAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Per event: tickets admitted at the door versus tickets sold."""

    list_display = ["title", "event_at", "admitted", "sold", "scan_log"]
    search_fields = ["title"]
    date_hierarchy = "event_at"

    def get_queryset(self, request):
        return annotate_checkins(super().get_queryset(request))

    @admin.display(description=_("admitted"), ordering="admitted_count")
    def admitted(self, obj):
        return obj.admitted_count

    @admin.display(description=_("sold"), ordering="sold_count")
    def sold(self, obj):
        return obj.sold_count

    @admin.display(description=_("scans"))
    def scan_log(self, obj):
        url = reverse("admin:scanning_scanlog_changelist")
        return format_html(
            '<a href="{}?event__id__exact={}">{}</a>', url, obj.pk, _("scan log")
        )
