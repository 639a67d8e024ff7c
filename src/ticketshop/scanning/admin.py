"""Admin for organisers: scanner accounts, the scan log, check-in per event."""

from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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


# What the offline scanner page showed at the door (ScanLog.offline_result).
OFFLINE_SHOWN = {
    "green": _("green (valid)"),
    "amber": _("amber (already used)"),
    "red": _("red (refused)"),
}


class MadeOfflineFilter(admin.SimpleListFilter):
    title = _("made offline")
    parameter_name = "offline"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(offline_key__isnull=False)
        if self.value() == "no":
            return queryset.filter(offline_key__isnull=True)
        return queryset


@admin.register(ScanLog)
class ScanLogAdmin(admin.ModelAdmin):
    # Few, narrow columns so that the log fits a 1280 px screen: the result
    # carries the earlier uses, "offline" what the page showed and whether
    # the server disagreed; the address is on each scan's own page.
    list_display = [
        "when",
        "event",
        "ticket_and_scanner",
        "outcome",
        "offline",
    ]
    list_filter = [
        "event",
        "result",
        "conflict",
        MadeOfflineFilter,
        "use_requested",
    ]
    search_fields = ["external_id", "scanner_name"]
    date_hierarchy = "scanned_at"
    list_select_related = ["event"]
    show_full_result_count = False

    @admin.display(description=_("scanned at"), ordering="scanned_at")
    def when(self, obj):
        # Short, in the shop's time zone: the column stays narrow.
        return f"{timezone.localtime(obj.scanned_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description=_("ticket id · scanner"), ordering="external_id")
    def ticket_and_scanner(self, obj):
        return format_html("{}<br><small>{}</small>", obj.external_id, obj.scanner_name)

    @admin.display(description=_("result"), ordering="result")
    def outcome(self, obj):
        text = obj.get_result_display()
        if obj.times_used_before:
            text = format_html(
                "{}<br><small>{}</small>",
                text,
                ngettext(
                    "used %(n)d time before",
                    "used %(n)d times before",
                    obj.times_used_before,
                )
                % {"n": obj.times_used_before},
            )
        if not obj.use_requested:
            text = format_html("{}<br><small>{}</small>", text, _("checked only"))
        return text

    @admin.display(description=_("offline"), ordering="offline_result")
    def offline(self, obj):
        if not obj.offline_result:
            return "–"
        shown = OFFLINE_SHOWN.get(obj.offline_result, obj.offline_result)
        if obj.conflict:
            return format_html(
                "{}<br><strong>{}</strong>", shown, _("conflict: see the result")
            )
        return shown

    # The scan log is evidence of who came in: shown, never added, edited or
    # deleted in the admin, by anyone (a superuser too).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EventCheckIn)
class EventCheckInAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Per event: tickets admitted at the door versus tickets sold."""

    list_display = ["title", "event_at", "admitted", "sold", "scan_log", "door_list"]
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

    @admin.display(description=_("door list"))
    def door_list(self, obj):
        # The back office's page of the event (check-in figures and the
        # door-list PDF); named by URL, since scanning never imports it.
        url = reverse("admin:backoffice_event", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("door list"))
