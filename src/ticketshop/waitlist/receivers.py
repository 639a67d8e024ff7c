"""Seats came back: queue the waiting list's offer task for the event.

Connected in ``apps.WaitlistConfig.ready``. Every receiver runs after the
freeing transaction commits; for an event without a waiting list it costs
one indexed read. A task lost between the commit and the enqueue is made
good by the periodic pass (``services.offer_everywhere``, each worker's
upkeep).
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save

from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.orders.signals import seats_came_back

logger = logging.getLogger(__name__)


def queue_offers(event_id: int) -> bool:
    """Queue the offer task if the event has a waiting list."""
    from .services import has_waiting_list
    from .tasks import offer_freed_seats

    if not has_waiting_list(event_id):
        return False
    offer_freed_seats.enqueue(event_id)
    return True


def _seats_came_back(sender, *, event_id: int, **kwargs) -> None:
    try:
        queue_offers(event_id)
    except Exception:
        # The freeing transaction has committed; the periodic pass makes up.
        logger.exception("waitlist: could not queue offers of event %s", event_id)


def _event_changed(sender, *, instance, created: bool, raw=False, **kwargs) -> None:
    # An organiser added seats (or a ticket type, or raised a limit).
    if raw:
        return
    event_id = instance.pk if sender is ChapterEvent else instance.event_id
    if created and sender is ChapterEvent:
        return
    transaction.on_commit(lambda: _seats_came_back(sender, event_id=event_id))


def connect() -> None:
    seats_came_back.connect(_seats_came_back, dispatch_uid="waitlist.seats_came_back")
    post_save.connect(
        _event_changed, sender=ChapterEvent, dispatch_uid="waitlist.event_changed"
    )
    post_save.connect(
        _event_changed, sender=TicketOffer, dispatch_uid="waitlist.offer_changed"
    )
