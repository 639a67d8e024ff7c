"""The treasurer's use case on the bookkeeping settings: one transaction,
one audit entry (the back office's pattern, backoffice/services.py)."""

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ticketshop import audit as audit_log

from .models import Organiser
from .receipts import current_organiser


def _state(organiser: Organiser, fields) -> dict:
    return {name: str(getattr(organiser, name)) for name in fields}


def update_organiser(
    *, user, values: Mapping[str, object], confirm: bool, now=None
) -> Organiser:
    """Save the organiser's settings (``values``: the form's cleaned fields).
    ``confirm``: the treasurer confirms them (who and when are kept); any
    change of an account or the VAT status without it clears an earlier
    confirmation, so the books never run on settings nobody checked."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        organiser = current_organiser()
        organiser = Organiser.objects.select_for_update().get(pk=organiser.pk)
        fields = sorted(values)
        before = _state(organiser, [*fields, "confirmed_at", "confirmed_by"])
        for name, value in values.items():
            setattr(organiser, name, value)
        changed = [n for n in fields if before[n] != str(getattr(organiser, n))]
        if confirm:
            organiser.confirmed_at = now
            organiser.confirmed_by = user.get_username()
        elif changed:
            organiser.confirmed_at = None
            organiser.confirmed_by = ""
        organiser.save()
        after = _state(organiser, [*fields, "confirmed_at", "confirmed_by"])
        audit_log.record(
            user=user,
            action="books_settings",
            summary=lambda: (
                _("Bookkeeping settings confirmed")
                if confirm
                else _("Bookkeeping settings changed: %(fields)s")
                % {"fields": ", ".join(changed) or "-"}
            ),
            before={k: v for k, v in before.items() if before[k] != after[k]},
            after={k: v for k, v in after.items() if before[k] != after[k]},
        )
    return organiser
