"""Offline door scanning: what a scanner page keeps, and its scans sent later.

The scanner page downloads the door list (``get_door_list``) while it has
network, checks tickets against it and the signature when it has none, and
queues each scan with a key of its own. ``sync_offline_scans`` applies the
queue in order through ``validate_ticket``, which logs each scan with its
key: the key is unique in the scan log, so a scan sent twice fails its
insert the second time, and with it (same statement or transaction) its
use. Each use is therefore applied exactly once, however often the page
retries. A scan whose server answer contradicts what the page showed at the
door (used at another door meanwhile, cancelled after the download) is
marked as a conflict in the scan log and reported back to the page.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import IntegrityError
from django.utils import timezone

from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import OrderStatus, Ticket
from ticketshop.orders.seats import is_lapsed
from ticketshop.orders.signing import public_key_text

from .credentials import Scanner
from .errors import TicketDoesNotExist
from .models import ScanLog, ScanResult
from .revocation import (
    EXCHANGED,
    Night,
    Revocation,
    exchanged_ids,
    night_of,
    reason_for,
    revocation_of,
)
from .services import WRONG_EVENT, validate_ticket


class _OrderState(NamedTuple):
    """An order's columns that the lapse rule (``seats.is_lapsed``) reads."""

    status: str
    payment_pending: bool
    expires_at: datetime


logger = logging.getLogger(__name__)

# Events that started longer ago than this are left out of the door list.
DOOR_LIST_PAST = timedelta(days=1)
# A scan's own time is trusted within this much of the server's clock.
MAX_OFFLINE_AGE = timedelta(days=2)
FAILED = (OrderStatus.FAILED_ADMIN, OrderStatus.FAILED_EXPIRED_RESERVATION)
UNKNOWN = "Ticket does not exist"


# A ticket's state in the door list's ``ticket_states``.
VALID, USED, REVOKED, NOT_PAID = "valid", "used", "revoked", "not_paid"


def get_door_list(*, scanner: Scanner, now: datetime) -> dict:
    """Return what a door needs offline for the scanner's current events.

    ``tickets`` maps each ticket id to [event id, order status, uses, type]
    (a ticket cancelled on its own, or exchanged, reads ``FAILED_ADMIN`` as
    the scan answers it); ``revoked`` lists the ids that no longer open the
    door (cancelled, refunded or exchanged tickets, and those of lapsed
    orders); ``ticket_states`` gives each ticket's state (see
    ``ticket_state``) and ``type_titles_en`` the English title of a ticket's
    type where the organiser gave one.
    """
    events = ChapterEvent.objects.filter(event_at__gte=now - DOOR_LIST_PAST)
    if scanner.event_ids is not None:
        events = events.filter(pk__in=scanner.event_ids)
    events = list(
        events.order_by("event_at", "id").values("id", "title", "title_en", "event_at")
    )
    rows = list(
        Ticket.objects.filter(event_id__in=[e["id"] for e in events]).values_list(
            "external_id",
            "event_id",
            "times_used",
            "order__status",
            "order__payment_pending",
            "order__expires_at",
            "ticket_type__title",
            "cancelled_at",
            "order_id",
            "order__event_id",
            "order__refund_state",
            "ticket_type__title_en",
        )
    )
    nights = _nights_moved_to(rows)
    same_night = exchanged_ids(
        {row[8] for row in rows if row[7] is not None and row[1] == row[9]}
    )
    tickets, revoked, states, types_en = {}, [], {}, {}
    for row in rows:
        external_id, event_id, used, status, pending, expires_at, type_title = row[:7]
        cancelled_at, _order_id, order_event_id, refund_state, type_en = row[7:]
        if is_lapsed(_OrderState(status, pending, expires_at), now=now):
            status = OrderStatus.FAILED_EXPIRED_RESERVATION
        cancelled = cancelled_at is not None
        if cancelled:
            # As the scan answers it (services.validate_ticket).
            status = OrderStatus.FAILED_ADMIN
        if status in FAILED:
            revoked.append(external_id)
        tickets[external_id] = [event_id, status, used, type_title]
        reason = reason_for(
            ticket_cancelled=cancelled,
            ticket_event_id=event_id,
            order_status=status,
            order_event_id=order_event_id,
            refund_state=refund_state,
            exchanged=external_id in same_night,
        )
        moved_to = nights.get(order_event_id) if reason == EXCHANGED else None
        states[external_id] = ticket_state(
            status=status, used=used, revocation=reason and Revocation(reason, moved_to)
        )
        if type_en:
            types_en[external_id] = type_en
    return {
        "generated_at": now,
        "public_key": public_key_text(),
        "scanner": scanner.name,
        "events": events,
        "tickets": tickets,
        "revoked": sorted(revoked),
        "ticket_states": states,
        "type_titles_en": types_en,
    }


def ticket_state(*, status: str, used: int, revocation: Revocation | None) -> dict:
    """One ticket's state in the door list.

    ``{"state": "valid"}`` (paid, not used), ``{"state": "used", "uses": n}``,
    ``{"state": "revoked", "reason": "refunded" | "exchanged" | "cancelled"}``
    (an exchanged ticket adds ``"moved_to"``: the night's ``id``, ``title``,
    ``title_en`` and ``event_at``), or ``{"state": "not_paid"}`` (an order
    never paid: a lapsed or released hold).
    """
    if revocation is not None:
        state = {"state": REVOKED, "reason": revocation.reason}
        if revocation.moved_to is not None:
            state["moved_to"] = night_dict(revocation.moved_to)
        return state
    if status != OrderStatus.PAID:
        return {"state": NOT_PAID}
    if used:
        return {"state": USED, "uses": used}
    return {"state": VALID}


def night_dict(night: Night) -> dict:
    return {
        "id": night.id,
        "title": night.title,
        "title_en": night.title_en,
        "event_at": night.event_at,
    }


def _nights_moved_to(rows) -> dict[int, Night]:
    """The events that exchanged tickets' orders hold now, by id (one query)."""
    wanted = {row[9] for row in rows if row[7] is not None and row[1] != row[9]}
    if not wanted:
        return {}
    return {
        event.pk: night_of(event)
        for event in ChapterEvent.objects.filter(pk__in=wanted).only(
            "title", "title_en", "event_at"
        )
    }


@dataclass(frozen=True)
class OfflineScan:
    """One scan the page made offline, as it sends it."""

    key: str
    # The ticket id the page resolved (signature checked by the caller), or
    # the text it read when that is no genuine ticket.
    external_id: str
    use_ticket: bool
    scanned_at: datetime
    # What the page showed at the door: green, amber or red.
    shown: str
    # Uses the page believed the ticket had before this scan.
    times_used_seen: int


@dataclass(frozen=True)
class SyncedScan:
    key: str
    external_id: str
    status: str
    times_used: int
    admitted: bool
    conflict: bool
    # True when the scan had been applied by an earlier sync.
    duplicate: bool
    # Why a refused ticket no longer opens the door (None: it does, or unpaid).
    revocation: Revocation | None = None


def sync_offline_scans(
    *,
    scanner: Scanner,
    scans: list[OfflineScan],
    client_address: str | None,
    now: datetime | None = None,
) -> list[SyncedScan]:
    """Apply the page's queued scans in order, each exactly once."""
    now = now or timezone.now()
    return [
        _apply(scanner=scanner, scan=scan, client_address=client_address, now=now)
        for scan in scans
    ]


def _scan_time(scanned_at: datetime, now: datetime) -> datetime:
    """Return the scan's own time, or the server's when it is not believable."""
    if scanned_at > now or scanned_at < now - MAX_OFFLINE_AGE:
        return now
    return scanned_at


def _apply(
    *, scanner: Scanner, scan: OfflineScan, client_address: str | None, now: datetime
) -> SyncedScan:
    # The usual retry (the page sends its queue again after a lost answer)
    # is found here; two sends at the same instant by the unique key below.
    if ScanLog.objects.filter(offline_key=scan.key).exists():
        return _already_applied(scan)
    try:
        outcome = validate_ticket(
            scanner=scanner,
            external_id=scan.external_id,
            use_ticket=scan.use_ticket,
            client_address=client_address,
            now=_scan_time(scan.scanned_at, now),
            offline_key=scan.key,
        )
    except TicketDoesNotExist:
        status, times_used, admitted, external_id = UNKNOWN, -1, False, ""
        revocation = None
    except IntegrityError:
        # Applied by an earlier sync (its log row holds the key): report it.
        return _already_applied(scan)
    else:
        status, times_used = outcome.status, outcome.times_used
        admitted, external_id = outcome.admitted, outcome.ticket.external_id
        revocation = outcome.revocation
    let_in = scan.shown in ("green", "amber") and scan.use_ticket
    conflict = let_in and (not admitted or times_used != scan.times_used_seen)
    ScanLog.objects.filter(offline_key=scan.key).update(
        offline_result=scan.shown[:16], conflict=conflict
    )
    if conflict:
        logger.warning(
            "offline scan conflict: ticket=%s scanner=%s shown=%s seen=%s "
            "server=%s times_used=%s",
            external_id or scan.external_id[:16],
            scanner.name,
            scan.shown,
            scan.times_used_seen,
            status,
            times_used,
        )
    return SyncedScan(
        key=scan.key,
        external_id=external_id or scan.external_id[:16],
        status=status,
        times_used=times_used,
        admitted=admitted,
        conflict=conflict,
        duplicate=False,
        revocation=revocation,
    )


_STATUS_OF_RESULT = {
    ScanResult.UNKNOWN: UNKNOWN,
    ScanResult.WRONG_EVENT: WRONG_EVENT,
}


def _already_applied(scan: OfflineScan) -> SyncedScan:
    log = (
        ScanLog.objects.select_related("ticket__order")
        .filter(offline_key=scan.key)
        .first()
    )
    if log is None:  # the key's row exists whenever its insert failed
        raise RuntimeError(f"offline scan {scan.key} failed without its log row")
    revocation = None
    if log.result in _STATUS_OF_RESULT:
        status = _STATUS_OF_RESULT[log.result]
    else:
        status = log.ticket.order.status if log.ticket else UNKNOWN
    if log.ticket and log.result == ScanResult.NOT_PAID:
        revocation = revocation_of(
            external_id=log.ticket.external_id,
            order_id=log.ticket.order_id,
            ticket_event_id=log.ticket.event_id,
            cancelled=log.ticket.cancelled_at is not None,
        )
    return SyncedScan(
        key=scan.key,
        external_id=log.ticket.external_id if log.ticket else log.external_id[:16],
        status=status,
        times_used=-1 if log.times_used_before is None else log.times_used_before,
        admitted=log.result == ScanResult.ADMITTED,
        conflict=log.conflict,
        duplicate=True,
        revocation=revocation,
    )
