from django import forms
from django.contrib import admin, messages

from ticketshop.backoffice import services as office

from .models import Entry, Release

# The release's settings as the back office's use case takes them.
SETTINGS = tuple(
    name for name in office.ReleaseSettings.__dataclass_fields__ if name != "mode"
)


def _settings(values) -> office.ReleaseSettings:
    return office.ReleaseSettings(
        mode=values.get("mode"), **{name: values.get(name) for name in SETTINGS}
    )


class ReleaseAdminForm(forms.ModelForm):
    """Refuses what the back office's release page refuses, before saving."""

    class Meta:
        model = Release
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = office.release_problems(_settings(data))
        if problems:
            raise forms.ValidationError([str(p) for p in problems])
        release = self.instance
        if release.pk and Entry.objects.filter(release=release).exists():
            for name in office.RELEASE_FIXED_ONCE_JOINED:
                # changed_data, not a comparison: the admin's widgets drop
                # the microseconds of an unchanged time.
                if name in self.changed_data:
                    raise forms.ValidationError(
                        office.ReleaseChangeRefused.joined_message()
                    )
        return data


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """A release's settings and pause through the same use cases (and so the
    same audit entries) as the back office's release page."""

    form = ReleaseAdminForm
    list_display = ["event", "mode", "sale_opens_at", "window_closes_at", "drawn_at"]
    readonly_fields = ["seed_commitment", "drawn_at", "admitted_up_to", "sold_out_at"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["event"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Not inside the admin's transaction: the use cases run their own,
        # durable and under the writer gate, with their audit entry; the
        # admin's log entry follows it.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # What the form changed; the rest as stored (not as the widgets
        # showed it: they drop a time's microseconds).
        stored = Release.objects.get(pk=obj.pk) if change else obj
        values = {
            name: getattr(obj if name in form.changed_data else stored, name)
            for name in ("mode", *SETTINGS)
        }
        try:
            if not change or set(form.changed_data) & {"mode", *SETTINGS}:
                release = office.set_release(
                    user=request.user, event_id=obj.event_id, settings=_settings(values)
                )
                obj.pk = release.pk
            if (change and "paused" in form.changed_data) or (
                not change and obj.paused
            ):
                office.pause_release(
                    user=request.user, event_id=obj.event_id, paused=obj.paused
                )
        except office.ReleaseChangeRefused as exc:
            # A change that raced another (the form checked it before).
            messages.error(request, str(exc))
        if obj.pk is not None:
            obj.refresh_from_db()


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
