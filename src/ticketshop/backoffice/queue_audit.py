"""The queue's and the waiting list's steps in the audit log, from their
state machines' history.

Every admission, lapsed admission and waiting-list offer (taken, declined,
lapsed) is a transition of its record's machine (``release_entry``,
``waitlist_offer``), and every transition writes one ``StateChange`` row in
the transaction that makes it. A receiver of that row writes the audit entry
(``audit.record_queue``) in the same transaction, so no step can be missing
from the log, whichever code path made it, and none is logged that did not
commit. The draw is one entry, when the release's ``drawn_at`` is saved.

Connected in ``BackofficeConfig.ready``. The queue's own code need not (and
should not) call ``record_queue`` for these steps as well.
"""

from django.apps import apps
from django.db.models.signals import post_save

from ticketshop import audit

# (machine, transition, the state it left or None for any) -> audit action.
AUDITED = {
    ("release_entry", "admit", None): "release_admit",
    ("release_entry", "lapse", "admitted"): "release_lapse",
    ("waitlist_offer", "offer", None): "waitlist_offer",
    ("waitlist_offer", "take", None): "waitlist_taken",
    ("waitlist_offer", "decline", None): "waitlist_declined",
    ("waitlist_offer", "lapse", None): "waitlist_lapsed",
}


def _action(change) -> str | None:
    return AUDITED.get(
        (change.machine, change.transition, change.from_state)
    ) or AUDITED.get((change.machine, change.transition, None))


def on_state_change(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    action = _action(instance)
    if action is None:
        return
    if instance.machine == "release_entry":
        entry = (
            apps.get_model("release", "Entry")
            .objects.select_related("release")
            .get(pk=instance.record_id)
        )
        audit.record_queue(
            action,
            event_id=entry.release.event_id,
            entry=entry.public_id,
            rank=entry.rank,
            seats=entry.tickets_wanted,
            until=entry.admission_expires_at if action == "release_admit" else None,
        )
        return
    offer = (
        apps.get_model("waitlist", "Offer")
        .objects.select_related("entry")
        .get(pk=instance.record_id)
    )
    audit.record_queue(
        action,
        event_id=offer.event_id,
        entry=offer.entry.public_id,
        rank=offer.entry.rank,
        seats=offer.seats_taken if action == "waitlist_taken" else offer.seats,
        until=offer.expires_at if action == "waitlist_offer" else None,
        order=offer.order if action == "waitlist_taken" else None,
    )


def on_release_saved(sender, instance, created, raw=False, update_fields=None, **kw):
    """The draw: the release's ``drawn_at`` saved (once, by the draw)."""
    if raw or created or instance.drawn_at is None:
        return
    if update_fields is None or "drawn_at" not in update_fields:
        return
    ranked = (
        apps.get_model("release", "Entry")
        .objects.filter(release=instance, rank__isnull=False)
        .count()
    )
    audit.record_queue("release_draw", event_id=instance.event_id, entries=ranked)


def connect() -> None:
    post_save.connect(
        on_state_change,
        sender=apps.get_model("statemachine", "StateChange"),
        dispatch_uid="backoffice.queue_audit.state_change",
    )
    if apps.is_installed("ticketshop.release"):
        post_save.connect(
            on_release_saved,
            sender=apps.get_model("release", "Release"),
            dispatch_uid="backoffice.queue_audit.release",
        )
