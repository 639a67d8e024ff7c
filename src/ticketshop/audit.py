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


# --- The fair release's queue and waiting list ----------------------------------
#
# The release and waiting-list code records every admission and offer here (in
# the transaction that makes it), so the organiser's audit log shows each one.
# Entries name the queue entry by its public id (published after the draw),
# never by the buyer's address. The summaries' translations are in the back
# office's catalogue, next to the action names (backoffice/models.py).

QUEUE_USERNAME = "queue"


def _queue_summary(action: str, values: Mapping) -> Callable[[], str]:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    def summary() -> str:
        seats = values.get("seats") or 0
        texts = {
            "release_admit": lambda: ngettext(
                "Entry %(entry)s (place %(rank)s) admitted to reserve %(seats)d ticket",
                "Entry %(entry)s (place %(rank)s) admitted to reserve %(seats)d "
                "tickets",
                seats,
            ),
            "release_lapse": lambda: _(
                "Entry %(entry)s (place %(rank)s) did not reserve in time; "
                "its turn passed on"
            ),
            "release_draw": lambda: _(
                "The draw ranked %(entries)s entries; the seed is published"
            ),
            "waitlist_offer": lambda: ngettext(
                "%(seats)d seat offered to entry %(entry)s from the waiting list",
                "%(seats)d seats offered to entry %(entry)s from the waiting list",
                seats,
            ),
            "waitlist_taken": lambda: ngettext(
                "Entry %(entry)s took %(seats)d seat offered from the waiting list",
                "Entry %(entry)s took %(seats)d seats offered from the waiting list",
                seats,
            ),
            "waitlist_declined": lambda: _(
                "Entry %(entry)s declined the seats offered; they pass on"
            ),
            "waitlist_lapsed": lambda: _(
                "The offer to entry %(entry)s was not taken in time; the seats pass on"
            ),
        }
        return texts[action]() % {
            "entry": values.get("entry", ""),
            "rank": values.get("rank") if values.get("rank") is not None else "–",
            "seats": seats,
            "entries": values.get("entries", 0),
        }

    return summary


QUEUE_ACTIONS = (
    "release_admit",
    "release_lapse",
    "release_draw",
    "waitlist_offer",
    "waitlist_taken",
    "waitlist_declined",
    "waitlist_lapsed",
)


def record_queue(
    action: str,
    *,
    event_id: int,
    entry: str = "",
    rank: int | None = None,
    seats: int | None = None,
    until=None,
    entries: int | None = None,
    order=None,
    username: str = QUEUE_USERNAME,
):
    """Record one step of the queue or waiting list, as the shop did it.

    ``action``: one of QUEUE_ACTIONS (an admission, its lapse, the draw; an
    offer from the waiting list, taken, declined, lapsed); ``entry``: the
    entry's public id; ``rank``: its place; ``seats``: the tickets admitted
    or offered; ``until``: when the admission or offer lapses; ``entries``:
    how many the draw ranked. Call it inside the transaction that makes the
    change, so the log and the change stand or fall together.
    """
    if action not in QUEUE_ACTIONS:
        raise ValueError(f"not a queue action: {action}")
    after = {
        key: value
        for key, value in {
            "entry": entry,
            "rank": rank,
            "seats": seats,
            "until": until.isoformat() if until is not None else None,
            "entries": entries,
        }.items()
        if value not in (None, "")
    }
    return record(
        user=None,
        username=username,
        action=action,
        summary=_queue_summary(action, after),
        order=order,
        event_id=event_id,
        after=after,
    )
