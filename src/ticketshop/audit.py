"""Write one audit-log entry (the back office's ``AuditEntry`` table).

A neutral module, low enough for every app to import: payments records the
settlement of a refund in the transaction that settles it, and the back
office records organisers' actions, both through ``record``. The table is
the back office's; it is named here through the app registry, so payments
depends on the audit table but imports no back-office code (the back office
imports payments, never the other way round).

A summary is given as a callable that writes it in the active language; it
is stored in every language of the shop (``summaries``), so that each
reader sees it in their own (``AuditEntry.summary_text``), and in the
default language in ``summary`` (searches).
"""

import logging
from collections.abc import Callable, Mapping

from django.apps import apps
from django.conf import settings
from django.utils import translation

logger = logging.getLogger("ticketshop.audit")


def summaries(summary: str | Callable[[], str]) -> dict[str, str]:
    """The summary in every language of the shop."""
    if not callable(summary):
        return {}
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(summary())
    return texts


def record(
    *,
    user,
    action: str,
    summary: str | Callable[[], str],
    order=None,
    event_id: int | None = None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    username: str = "",
):
    """Record an action; ``user`` None is the shop itself (``username``)."""
    entry_model = apps.get_model("backoffice", "AuditEntry")
    texts = summaries(summary)
    text = texts.get(settings.LANGUAGE_CODE, "") if texts else str(summary)
    entry = entry_model.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=user.get_username() if user is not None else username,
        action=action,
        summary=text,
        order=order,
        event_id=event_id if event_id is not None else getattr(order, "event_id", None),
        before=dict(before or {}),
        after=dict(after or {}),
        summaries=texts,
    )
    logger.info("audit: %s %s: %s", entry.username, action, text)
    return entry
