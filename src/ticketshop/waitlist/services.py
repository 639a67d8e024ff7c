"""The waiting list: seats that come back are offered down the list.

The owner of ``Offer.state`` (``machines.WAITLIST_OFFER``). Three actions:

- ``offer_seats(event_id)`` (a worker's task, after every transaction that
  freed seats of the event, and the periodic pass): in one durable
  transaction under the event's seat lock (the lock every reservation
  takes), lapse the offers whose time is up, count the seats free, and for
  each next entry on the list hold min(wanted, free) seats with a real
  reservation (``orders.lifecycle.reserve``, held until the offer's expiry),
  record the offer and queue its e-mail (the back office's outbox, unique per
  offer). Two workers serialise on the lock and the second finds the seats
  held; a worker killed mid-offer rolls back whole. So a freed seat is
  offered to exactly one entry, once.
- ``take_offer``: the buyer's own reservation through the normal reservation
  path (``orders.services.reserve_tickets``), releasing the hold in the same
  transaction; all the seats or fewer (the rest come back and are offered
  on).
- ``decline_offer`` / ``leave_list``: release the hold; the seats are
  offered on.

The order of the list: entries on it (``sold_out_waiting``) by their rank
(the draw's, or arrival for a first-come event's list), those who declined
an offer behind those not yet offered; an entry with an open, taken or
lapsed offer is not offered again.
"""

import functools
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ticketshop.backoffice import outbox
from ticketshop.db.locks import run_locked
from ticketshop.events.models import TicketOffer
from ticketshop.orders import lifecycle
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.seatlock import lock_event, set_counter_exact
from ticketshop.orders.seats import count_event_orders, count_live_tickets
from ticketshop.orders.services import TicketLine, reserve_tickets
from ticketshop.release import services as release_services
from ticketshop.release.errors import AlreadyInQueue
from ticketshop.release.models import Entry, EntryState, Release, SaleMode

from .errors import (
    AlreadyOnList,
    BadSeatCount,
    NotSoldOut,
    OfferBeingTaken,
    OfferNotOpen,
)
from .machines import DECLINED, LAPSED, OFFERED, TAKEN, WAITLIST_OFFER
from .models import Offer

logger = logging.getLogger(__name__)

ON_LIST = EntryState.SOLD_OUT_WAITING
TAKE_CLAIM = timedelta(seconds=30)


# --- Who is next ---------------------------------------------------------------


def next_entries(event_id: int):
    """The entries that may be offered seats, in the list's order."""
    return (
        Entry.objects.filter(release__event_id=event_id, state=ON_LIST)
        .exclude(waitlist_offers__state__in=[OFFERED, TAKEN, LAPSED])
        .annotate(
            declines=Count("waitlist_offers", filter=Q(waitlist_offers__state=DECLINED))
        )
        .order_by("declines", F("rank").asc(nulls_last=True), "joined_at", "pk")
    )


def has_waiting_list(event_id: int) -> bool:
    """One indexed read: anyone on the event's waiting list (plain SQL,
    built once: it runs after every transaction that frees seats, and the
    ORM's query building cost more than the read)."""
    with connection.cursor() as cursor:
        cursor.execute(_waiting_list_sql(), [event_id, ON_LIST.value])
        return cursor.fetchone() is not None


@functools.cache
def _waiting_list_sql() -> str:
    entry, release = Entry._meta, Release._meta
    return (
        f"SELECT 1 FROM {entry.db_table} e"  # noqa: S608 - names from the models
        f" JOIN {release.db_table} r ON e.{entry.get_field('release').column}"
        f" = r.{release.pk.column}"
        f" WHERE r.{release.get_field('event').column} = %s"
        f" AND e.{entry.get_field('state').column} = %s LIMIT 1"
    )


def offer_duration(release: Release, *, now: datetime) -> timedelta:
    """Hours before the show day, minutes on it (the release's settings)."""
    show_day = timezone.localtime(release.event.event_at).date()
    if timezone.localtime(now).date() >= show_day:
        return timedelta(seconds=release.offer_seconds_on_show_day)
    return timedelta(seconds=release.offer_seconds_before_show_day)


# --- Offering ----------------------------------------------------------------


def offer_seats(*, event_id: int, now: datetime | None = None) -> list[int]:
    """Lapse the event's offers that ran out and offer the free seats down
    its list; return the ids of the offers made (see the module)."""
    now = now or timezone.now()
    return run_locked(_offer_locked, event_id=event_id, now=now)


def _offer_locked(*, event_id: int, now: datetime) -> list[int]:
    event = lock_event(event_id=event_id)
    _lapse_due(event_id=event_id, now=now)
    live, _lapsed = count_event_orders(event_id=event_id, now=now)
    # Counted under the lock: the seat counter (which the lock made
    # unknown) is exact again, as after any reservation's count.
    set_counter_exact(event_id=event_id, held=live)
    free = event.seats - live
    release = Release.objects.filter(event_id=event_id).first()
    if release is None or event.sales_stop_at <= now or free <= 0:
        return []
    types = list(
        TicketOffer.objects.filter(event_id=event_id, ticket_type__visible=True)
        .select_related("ticket_type")
        .order_by("ticket_type__price", "pk")
    )
    if not types:
        return []
    expires_at = min(now + offer_duration(release, now=now), event.sales_stop_at)
    made = []
    for entry in next_entries(event_id)[:free]:
        if free <= 0:
            break
        wanted = min(entry.tickets_wanted, free, event.max_tickets_per_payment)
        hold = _hold(event_id, types, wanted, now=now, until=expires_at)
        if hold is None:
            break  # no type has a seat left (limits of their own)
        offer = _record_offer(entry, event_id, hold, now=now, expires_at=expires_at)
        made.append(offer.pk)
        free -= hold.ticket_count
    return made


def _hold(event_id, types, wanted: int, *, now, until):
    """Hold up to ``wanted`` seats for the offer, of the first (cheapest)
    type that has room: the buyer chooses the types when taking it."""
    for offer in types:
        count = wanted
        while count > 0:
            try:
                return lifecycle.reserve(
                    event_id=event_id,
                    counts={offer.ticket_type_id: count},
                    prices={offer.ticket_type_id: offer.ticket_type.price},
                    limits={offer.ticket_type_id: offer.limit},
                    now=now,
                    try_counter=False,
                    hold_until=until,
                )
            except OutOfTickets as refused:
                count = min(count - 1, refused.tickets_left)
    return None


def _record_offer(entry, event_id, hold, *, now, expires_at) -> Offer:
    WAITLIST_OFFER.check("offer", None)
    offer = Offer.objects.create(
        entry=entry,
        event_id=event_id,
        seats=hold.ticket_count,
        token=secrets.token_urlsafe(24),
        hold=hold,
        language=entry.language or settings.LANGUAGE_CODE,
        offered_at=now,
        expires_at=expires_at,
    )
    WAITLIST_OFFER.save(offer, "offer", created=True)
    _queue_offer_mail(offer, entry)
    logger.info(
        "waitlist: offered %d seat(s) of event %s to entry %s until %s",
        offer.seats,
        event_id,
        entry.pk,
        expires_at.isoformat(),
    )
    return offer


def offer_url(offer: Offer) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/waitlist/offer/{offer.token}/"


def _queue_offer_mail(offer: Offer, entry) -> None:
    with translation.override(offer.language):
        event = offer.event.title_in(offer.language)
        until = timezone.localtime(offer.expires_at).strftime("%Y-%m-%d %H:%M")
        subject = _("Tickets for you: %(event)s") % {"event": event}
        body = "\n\n".join(
            [
                _("Hello,"),
                _(
                    "Seats for %(event)s came back and you are next on the waiting"
                    " list: %(seats)s ticket(s) are held for you until %(until)s."
                )
                % {"event": event, "seats": offer.seats, "until": until},
                _(
                    "Take them (all, or fewer if you like), decline them, or leave"
                    " the waiting list here:"
                ),
                offer_url(offer),
                _("If you do nothing, the seats go to the next person on the list."),
            ]
        )
    outbox.queue_mail(
        key=f"waitlist-offer:{offer.pk}",
        recipient=entry.email,
        subject=subject,
        body=body,
    )


def _lapse_due(*, event_id: int, now: datetime) -> int:
    """``lapse`` the event's open offers whose time is up (their holds
    lapsed with them: held until the same moment)."""
    due = list(
        _locked(
            Offer.objects.filter(event_id=event_id, state=OFFERED, expires_at__lte=now)
        )
    )
    for offer in due:
        WAITLIST_OFFER.check("lapse", offer)
        offer.decided_at = now
        WAITLIST_OFFER.save(offer, "lapse", ["decided_at"])
    return len(due)


def _locked(queryset):
    if connection.vendor == "postgresql":
        return queryset.select_for_update(of=("self",))
    return queryset


def events_due(*, now: datetime) -> list[int]:
    """Events whose waiting list may have something to do: an offer whose
    time is up, or entries waiting while seats are free (counted without a
    lock; ``offer_seats`` counts again under it)."""
    due = set(
        Offer.objects.filter(state=OFFERED, expires_at__lte=now).values_list(
            "event_id", flat=True
        )
    )
    waiting = set(
        Entry.objects.filter(
            state=ON_LIST, release__event__sales_stop_at__gt=now
        ).values_list("release__event_id", "release__event__seats")
    )
    if waiting:
        live = count_live_tickets(event_ids=[e for e, _ in waiting], now=now)
        due |= {e for e, seats in waiting if seats - live.get(e, 0) > 0}
    return sorted(due)


def offer_everywhere(*, now: datetime | None = None) -> int:
    """The periodic pass: ``offer_seats`` for every event with something to
    do (a lost task, a hold that lapsed unnoticed, an offer that ran out)."""
    now = now or timezone.now()
    made = 0
    for event_id in events_due(now=now):
        made += len(offer_seats(event_id=event_id, now=now))
    return made


# --- The buyer's answer ------------------------------------------------------


def open_offer(token: str, *, now: datetime | None = None) -> Offer:
    """The offer of the link, or ``OfferNotOpen``."""
    now = now or timezone.now()
    offer = Offer.objects.select_related("event", "entry").filter(token=token).first()
    if offer is None or offer.state != OFFERED or offer.expires_at <= now:
        raise OfferNotOpen()
    return offer


def _claim(token: str, now: datetime) -> Offer:
    with transaction.atomic():
        offer = _locked(Offer.objects.filter(token=token)).first()
        if offer is None or offer.state != OFFERED or offer.expires_at <= now:
            raise OfferNotOpen()
        if offer.claimed_until is not None and offer.claimed_until > now:
            raise OfferBeingTaken()
        offer.claimed_until = now + TAKE_CLAIM
        offer.save(update_fields=["claimed_until"])
        return offer


def _unclaim(offer: Offer) -> None:
    Offer.objects.filter(pk=offer.pk, state=OFFERED).update(claimed_until=None)


def take_offer(token: str, *, counts: Mapping[int, int], language: str = "", now=None):
    """Reserve ``counts`` ({ticket type id: n}, 1..the offer's seats in all)
    through the normal reservation path, releasing the offer's hold in the
    same transaction; ``take`` the offer. Returns the buyer's order (the
    caller keeps it in the buyer's session). Raises OfferNotOpen,
    OfferBeingTaken, BadSeatCount or a reservation's ShopError (the offer
    then stays open)."""
    now = now or timezone.now()
    counts = {t: n for t, n in counts.items() if n > 0}
    offer = _claim(token, now)
    try:
        total = sum(counts.values())
        if not 1 <= total <= offer.seats:
            raise BadSeatCount(offer.seats)
        order = reserve_tickets(
            event_id=offer.event_id,
            lines=[TicketLine(t, n) for t, n in counts.items()],
            now=now,
            language=language or offer.language,
            previous=offer.hold,
        )
    except Exception:
        _unclaim(offer)
        raise
    with transaction.atomic():
        offer = _locked(Offer.objects.filter(pk=offer.pk)).get()
        WAITLIST_OFFER.check("take", offer)
        offer.order = order
        offer.seats_taken = order.ticket_count
        offer.decided_at = now
        offer.claimed_until = None
        WAITLIST_OFFER.save(
            offer, "take", ["order", "seats_taken", "decided_at", "claimed_until"]
        )
        # The entry reserved: it leaves the list (and follows its order).
        release_services.reserve_from_waiting_list(offer.entry_id, order)
    logger.info("waitlist: offer %s taken, %d seat(s)", offer.pk, order.ticket_count)
    return order


def decline_offer(token: str, *, now=None) -> Offer:
    """``decline``: release the hold; the seats are offered on."""
    now = now or timezone.now()
    return run_locked(_decline_locked, token=token, now=now)


def _decline_locked(*, token: str, now: datetime) -> Offer:
    offer = _locked(Offer.objects.filter(token=token)).first()
    if offer is None or offer.state != OFFERED:
        raise OfferNotOpen()
    if offer.claimed_until is not None and offer.claimed_until > now:
        raise OfferBeingTaken()
    if offer.hold_id is not None:
        # Seats freed: lifecycle tells the waiting list after the commit.
        lifecycle.release(lifecycle.lock_order(offer.hold_id), now=now)
    WAITLIST_OFFER.check("decline", offer)
    offer.decided_at = now
    WAITLIST_OFFER.save(offer, "decline", ["decided_at"])
    return offer


def leave_list(token: str, *, now=None) -> Offer:
    """Decline the offer of the link (if still open) and leave the list."""
    now = now or timezone.now()
    offer = Offer.objects.select_related("entry").filter(token=token).first()
    if offer is None:
        raise OfferNotOpen()
    if offer.state == OFFERED:
        decline_offer(token, now=now)
    release_services.leave_entry(offer.entry, now=now)
    return offer


# --- Joining a sold-out first-come event's list ---------------------------------


def seats_left(event) -> int:
    live = count_live_tickets(event_ids=[event.pk], now=timezone.now())
    return event.seats - live.get(event.pk, 0)


def join_waiting_list(
    *,
    event,
    session_token: str,
    email: str,
    tickets_wanted: int,
    language: str = "sv",
    now=None,
):
    """Put a buyer on a sold-out event's waiting list (at the back).

    A first-come event gets its ``Release`` row (mode first come, so its
    sale is unchanged) the first time someone joins. Refuses an event with
    seats left (``NotSoldOut``), a second entry of the same session or
    normalised address (``AlreadyOnList``), and a count outside 1..the
    event's per-order maximum (``BadSeatCount``)."""
    now = now or timezone.now()
    if not 1 <= tickets_wanted <= event.max_tickets_per_payment:
        raise BadSeatCount(event.max_tickets_per_payment)
    if seats_left(event) > 0:
        raise NotSoldOut()
    release, _created = Release.objects.get_or_create(
        event=event, defaults={"mode": SaleMode.FIRST_COME}
    )
    if release.queued and release.sold_out_at is None:
        # A queued release's list is its queue: join the queue instead.
        raise NotSoldOut()
    try:
        return release_services.join_waiting_list(
            release=release,
            session_token=session_token,
            email=email,
            tickets_wanted=tickets_wanted,
            language=language,
            now=now,
        )
    except AlreadyInQueue as exc:
        raise AlreadyOnList() from exc


def position(entry) -> int:
    """The entry's place on its list (1 = next), counting those ahead."""
    ahead = 0
    for other in next_entries(entry.release.event_id).only("pk"):
        ahead += 1
        if other.pk == entry.pk:
            return ahead
    return 0
