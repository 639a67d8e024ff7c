"""The queue's actions; the only writer of an ``Entry``'s state (``ENTRY``).

- ``join`` / ``leave`` / ``confirm``: the buyer's entry (one per browser
  session and per normalised e-mail address, held by unique constraints);
- ``draw``: ranks the entries that joined before the window closed by
  HMAC-SHA256(seed, public id), later ones behind in arrival order; run
  once, by whichever worker wins the lease (``tick``);
- ``admit``: admits entries in rank order while the seats held or about to
  be held stay below the seats left times the overbooking factor, and
  fewer than ``max_checking_out`` buyers are checking out; lapses
  admissions whose time ran out; follows reserved entries' orders to paid
  or lapsed; when the event is sold out, the rest of the queue becomes its
  waiting list (``sold_out_waiting``, in the same order);
- ``admission_for`` / ``record_reservation``: the reservation gate (an
  admitted entry may reserve at once, its address confirmed or not);
- ``payment_gate``: an order reserved through an unconfirmed entry may not
  start its payment until the address is confirmed; an entry still
  unconfirmed when its hold lapses passes its turn on. The confirmation
  link is e-mailed at the join in a ballot (only confirmed entries are
  drawn), and at the admission in a window of minutes.

The buyer's status is read by ``selectors.status`` without writing.
"""

import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.events.errors import EventDoesNotExist
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.errors import TooManyTickets
from ticketshop.orders.models import Order, OrderStatus

from .errors import (
    AlreadyInQueue,
    ConfirmationRequired,
    NoQueue,
    NotAdmitted,
    NotInQueue,
    QueueNotOpen,
    SwishNumberRequired,
    TurnPassed,
)
from .machines import (
    ADMITTED,
    ENTRY,
    PAID,
    PASSED,
    RESERVED,
    SOLD_OUT_WAITING,
    WAITING,
)
from .models import Entry, Release
from .selectors import drawn_entries

logger = logging.getLogger(__name__)

# A session's queue token (its entries are found by its hash).
SESSION_QUEUE_KEY = "queue_token"
SWISH_NUMBER = re.compile(r"^46\d{7,13}$")
# The task priority of an admitted entry's confirmation e-mail: ahead of the
# queue's other e-mails and the ticket e-mails (priority 0).
ADMITTED_MAIL_PRIORITY = 50


def normalise_email(email: str) -> str:
    """The address as one person: lower case, ``+tag`` removed, and for
    gmail.com/googlemail.com the dots Gmail ignores removed."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def normalise_swish_number(number: str) -> str:
    """A Swedish mobile number as Swish's payerAlias wants it (46…), or ""."""
    digits = re.sub(r"[\s\-()+]", "", number or "")
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("0"):
        digits = "46" + digits[1:]
    return digits if SWISH_NUMBER.match(digits) else ""


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def draw_key(seed: str, public_id: str) -> str:
    """The draw's recipe: entries are ranked by this, ascending."""
    return hmac.new(bytes.fromhex(seed), public_id.encode(), hashlib.sha256).hexdigest()


def queued_release(event_id: int) -> Release | None:
    """The event's release if it queues its buyers (random window), else None."""
    release = release_of(event_id)
    return release if release is not None and release.queued else None


def release_of(event_id: int) -> Release | None:
    """The event's release with its event, or None (every reservation and
    join asks this): one statement written once per process, as ``entry_of``."""
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(_release_of_sql(alias), [event_id])
        row = cursor.fetchone()
    if row is None:
        return None
    release, event = sql.read_models(alias, row, Release, ChapterEvent)
    release.event = event
    return release


@cache
def _release_with_event(alias: str) -> tuple[str, str]:
    """The columns of a release (``r``) and its event (``v``), in field order
    (``sql.read_models`` reads them), and the two tables joined."""
    columns = (
        f"{sql.select_columns(alias, Release, 'r')},"
        f" {sql.select_columns(alias, ChapterEvent, 'v')}"
    )
    tables = (
        f"{sql.table(Release, 'r', using=alias)}"
        f" JOIN {sql.table(ChapterEvent, 'v', using=alias)}"
        f" ON {sql.column(ChapterEvent, 'pk', 'v', using=alias)}"
        f" = {sql.column(Release, 'event', 'r', using=alias)}"
    )
    return columns, tables


@cache
def _release_of_sql(alias: str) -> str:
    """The release of an event with the event; parameter: the event's id."""
    columns, tables = _release_with_event(alias)
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {columns} FROM {tables}"  # noqa: S608
        f" WHERE {sql.column(Release, 'event', 'r', using=alias)} = %s"
    )


# --- the buyer's entry --------------------------------------------------------
def join(
    *,
    event_id: int,
    session_token: str,
    email: str,
    tickets_wanted: int,
    language: str = "sv",
    swish_number: str = "",
    now: datetime | None = None,
    arrived_at: datetime | None = None,
) -> Entry:
    """Add the buyer's entry to the event's queue (or, sold out, its waiting
    list). Raises NoQueue, EventDoesNotExist, QueueNotOpen, TooManyTickets,
    SwishNumberRequired or AlreadyInQueue and then writes nothing.

    ``arrived_at`` is when the join reached the shop's proxy (it may have
    waited in front of a busy app server since): the entry counts from then
    (``joined_at``), so a join sent inside the window is drawn with the
    others as long as the draw has not run (it waits
    RELEASE_ARRIVAL_GRACE_SECONDS after the window closes: ``tick``)."""
    now = now or timezone.now()
    joined_at = min(arrived_at, now) if arrived_at is not None else now
    release = release_of(event_id)
    if release is None or not release.queued:
        raise NoQueue()
    event = release.event
    if event.sales_stop_at <= now:
        raise EventDoesNotExist()
    if release.queue_opens_at is None or joined_at < release.queue_opens_at:
        raise QueueNotOpen()
    if tickets_wanted > event.max_tickets_per_payment:
        raise TooManyTickets(event.max_tickets_per_payment)
    swish = normalise_swish_number(swish_number) if swish_number else ""
    if swish_number and not swish:
        raise SwishNumberRequired()
    if release.bind_swish_number and not swish:
        raise SwishNumberRequired()
    hashed = session_hash(session_token)
    normalised = normalise_email(email)
    if Entry.objects.filter(
        Q(session_key_hash=hashed) | Q(email_normalised=normalised),
        release=release,
    ).exists():
        raise AlreadyInQueue()
    try:
        with transaction.atomic():
            # No place yet, and no lock on the release: the draw ranks the
            # entry if it commits before the draw reads the entries; if not,
            # the worker's next round gives it the next place in arrival
            # order (``_rank_stragglers``), so late joins never queue on
            # one row.
            transition = "join_waiting_list" if release.sold_out_at else "join"
            ENTRY.check(transition, None)
            entry = Entry.objects.create(
                release=release,
                session_key_hash=hashed,
                email=email,
                email_normalised=normalised,
                tickets_wanted=tickets_wanted,
                language=language or "sv",
                swish_number=swish,
                joined_at=joined_at,
                state=ENTRY[transition].target,
            )
            ENTRY.save(entry, transition, created=True)
            if release.is_ballot:
                # A ballot draws only confirmed entries: the link goes now.
                # In a window of minutes it goes when the turn comes
                # (``admit``): a rush's thousands of entries are not mailed,
                # and a waiting-list offer's link confirms the address.
                _mail_on_commit(entry, "confirm")
    except IntegrityError:
        raise AlreadyInQueue() from None
    return entry


def _next_rank(release: Release) -> int:
    top = Entry.objects.filter(release=release).aggregate(m=Max("rank"))["m"]
    return (top or 0) + 1


def entry_of(event_id: int, session_token: str | None) -> Entry | None:
    """The session's entry in the event's queue, with its release and event
    (every status poll asks this). One statement written once per process
    (``_entry_of_sql``): compiling the ORM's query with its joins took about
    half of a poll's CPU (bench/README.md, "queue_status_inprocess")."""
    if not session_token:
        return None
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(_entry_of_sql(alias), [event_id, session_hash(session_token)])
        row = cursor.fetchone()
    if row is None:
        return None
    entry, release, event = sql.read_models(alias, row, Entry, Release, ChapterEvent)
    release.event = event
    entry.release = release
    return entry


@cache
def _entry_of_sql(alias: str) -> str:
    """The entry (``e``) of a session's hash in the release of an event, with
    the release and the event (``_release_with_event``); parameters: the
    event's id, the session's hash. At most one row (one entry per session
    and release, one release per event)."""
    columns, tables = _release_with_event(alias)
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, Entry, 'e')}, {columns}"  # noqa: S608
        f" FROM {sql.table(Entry, 'e', using=alias)}"
        f" JOIN ({tables})"
        f" ON {sql.column(Release, 'pk', 'r', using=alias)}"
        f" = {sql.column(Entry, 'release', 'e', using=alias)}"
        f" WHERE {sql.column(Release, 'event', 'r', using=alias)} = %s"
        f" AND {sql.column(Entry, 'session_key_hash', 'e', using=alias)} = %s"
        " LIMIT 1"
    )


def leave(*, event_id: int, session_token: str | None) -> Entry:
    """Give up the session's place (in the queue or on the waiting list)."""
    entry = entry_of(event_id, session_token)
    if entry is None:
        raise NotInQueue()
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if not ENTRY.allowed("leave", entry):
            raise NotInQueue()
        ENTRY.check("leave", entry)
        ENTRY.save(entry, "leave")
    return entry


def confirm(*, token: str, now: datetime | None = None) -> Entry | None:
    """The e-mailed link was opened: the entry's address is confirmed."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = Entry.objects.select_for_update().filter(confirm_token=token).first()
        if entry is None:
            return None
        if entry.email_confirmed_at is None and ENTRY.allowed("confirm", entry):
            ENTRY.check("confirm", entry)
            entry.email_confirmed_at = now
            ENTRY.save(entry, "confirm", ["email_confirmed_at"])
    return entry


def leave_entry(entry: Entry, *, now=None) -> bool:
    """``leave``: the buyer gives up their place (the queue or the waiting
    list); False if the entry had moved past leaving (reserved, paid …).
    Inside the caller's transaction, or one of its own."""
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if not ENTRY.allowed("leave", entry):
            return False
        ENTRY.check("leave", entry)
        ENTRY.save(entry, "leave")
    return True


def bind_session(*, token: str, session_token: str) -> Entry | None:
    """An e-mailed link (a ballot's admission) names this browser's session
    as the entry's: it may reserve here. Not a state change."""
    entry = Entry.objects.filter(confirm_token=token).first()
    if entry is not None:
        Entry.objects.filter(pk=entry.pk).update(
            session_key_hash=session_hash(session_token)
        )
    return entry


# --- the draw -------------------------------------------------------------------
def draw(
    release_id: int, *, now: datetime | None = None, after: timedelta = timedelta(0)
) -> bool:
    """Rank the release's entries, once; True if this call drew.

    Entries that joined before the window closed (in a ballot: only those
    confirmed by then; the others pass their turn) are ranked by
    ``draw_key(seed, public_id)``, ascending; entries that joined after it
    follow in arrival order.
    """
    now = now or timezone.now()
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release_id)
        if release.drawn_at is not None or not release.queued:
            return False
        if release.window_closes_at is None or now < release.window_closes_at + after:
            return False
        entries = list(
            Entry.objects.select_for_update()
            .filter(release=release, state=WAITING, rank__isnull=True)
            .order_by("joined_at", "id")
        )
        in_window = [e for e in entries if e.joined_at < release.window_closes_at]
        late = [e for e in entries if e.joined_at >= release.window_closes_at]
        passed = []
        if release.is_ballot:
            passed = [e for e in in_window if e.email_confirmed_at is None]
            in_window = [e for e in in_window if e.email_confirmed_at is not None]
        ordered = sorted(in_window, key=lambda e: draw_key(release.seed, e.public_id))
        first = _next_rank(release)
        release.drawn_up_to = first + len(ordered) - 1
        ordered += late
        for rank, entry in enumerate(ordered, start=first):
            entry.rank = rank
        Entry.objects.bulk_update(ordered, ["rank"], batch_size=500)
        for entry in ordered:
            ENTRY.check("draw", entry)
        ENTRY.record_many([(e.pk, WAITING, WAITING) for e in ordered], "draw")
        for entry in passed:
            ENTRY.check("pass_turn", entry)
            ENTRY.save(entry, "pass_turn")
        release.drawn_at = now
        release.save(update_fields=["drawn_at", "drawn_up_to"])
    logger.info("release %s drawn: %d entries ranked", release_id, len(ordered))
    return True


def published_draw(release: Release) -> dict:
    """What anyone may see of the draw: the commitment before it; after it the
    seed and the ranked public ids of the entries it drew (no personal data)."""
    body = {
        "chapter_event": release.event_id,
        "seed_commitment": release.seed_commitment,
        "window_closes_at": release.window_closes_at,
        "drawn_at": release.drawn_at,
        "seed": None,
        "entries": [],
    }
    if release.drawn_at is not None:
        body["seed"] = release.seed
        body["entries"] = list(
            drawn_entries(release).order_by("rank").values_list("public_id", flat=True)
        )
    return body


# --- admission -------------------------------------------------------------------
def admit(release_id: int, *, now: datetime | None = None) -> dict:
    """One round of admission for a release; returns what it did."""
    now = now or timezone.now()
    done = {"admitted": 0, "lapsed": 0, "passed": 0, "paid": 0, "sold_out": 0}
    with transaction.atomic():
        release = (
            Release.objects.select_for_update()
            .select_related("event")
            .get(pk=release_id)
        )
        if not release.queued or release.drawn_at is None:
            return done
        _rank_stragglers(release)
        _follow_orders(release, now, done)
        _lapse_admissions(release, now, done)
        if release.paused:
            return done
        event = release.event
        paid, held = _seats(event.pk, now)
        free = event.seats - paid - held
        admitted = Entry.objects.filter(release=release, state=ADMITTED)
        about = admitted.aggregate(s=Sum("tickets_wanted"))["s"] or 0
        checking_out = (
            admitted.count()
            + Entry.objects.filter(release=release, state=RESERVED).count()
        )
        budget = Decimal(event.seats - paid) * release.overbook_factor
        if free <= 0 and about == 0 and checking_out == 0:
            done["sold_out"] = _sell_out(release, now)
            return done
        if paid >= event.seats:
            done["sold_out"] = _sell_out(release, now)
            return done
        top = release.admitted_up_to
        queue = Entry.objects.filter(release=release, state=WAITING).order_by("rank")
        for entry in queue.select_for_update()[: release.max_checking_out]:
            if checking_out >= release.max_checking_out:
                break
            wanted = min(entry.tickets_wanted, max(event.seats - paid, 0))
            if held + about + wanted > budget or wanted <= 0:
                break
            ENTRY.check("admit", entry)
            entry.admitted_at = now
            entry.admission_expires_at = now + release.admit_duration
            ENTRY.save(entry, "admit", ["admitted_at", "admission_expires_at"])
            if release.is_ballot:
                _mail_on_commit(entry, "admitted")
            elif entry.email_confirmed_at is None and entry.confirm_mailed_at is None:
                # The address is confirmed when the turn comes (a window of
                # minutes mails no link at the join): the link goes now,
                # ahead of the other e-mails.
                _mail_on_commit(entry, "confirm", priority=ADMITTED_MAIL_PRIORITY)
            about += entry.tickets_wanted
            checking_out += 1
            top = max(top, entry.rank or 0)
            done["admitted"] += 1
        if top != release.admitted_up_to:
            release.admitted_up_to = top
            release.save(update_fields=["admitted_up_to"])
    return done


def _seats(event_id: int, now: datetime) -> tuple[int, int]:
    """(paid tickets, tickets held by live reservations) of the event."""
    from ticketshop.orders.seats import count_live_tickets

    live = count_live_tickets(event_ids=[event_id], now=now).get(event_id, 0)
    paid = (
        Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).aggregate(
            n=Sum("ticket_count")
        )["n"]
        or 0
    )
    return paid, live - paid


def _rank_stragglers(release: Release) -> None:
    """Entries that joined after the draw read the queue get the next
    places, in arrival order; joined as the event sold out, they go to the
    waiting list with the rest."""
    stragglers = list(
        Entry.objects.select_for_update()
        .filter(
            release=release, rank__isnull=True, state__in=(WAITING, SOLD_OUT_WAITING)
        )
        .order_by("joined_at", "id")
    )
    if release.is_ballot:
        stragglers = [e for e in stragglers if e.email_confirmed_at is not None]
    if not stragglers:
        return
    rank = _next_rank(release)
    for entry in stragglers:
        entry.rank = rank
        rank += 1
    Entry.objects.bulk_update(stragglers, ["rank"])
    if release.sold_out_at is not None:
        for entry in stragglers:
            if entry.state == WAITING:
                ENTRY.check("sell_out", entry)
                ENTRY.save(entry, "sell_out")


def _follow_orders(release: Release, now: datetime, done: dict) -> None:
    """Reserved entries follow their orders: paid, or lapsed once the hold
    is over (expired, failed, cancelled) without a payment running."""
    from ticketshop.orders.seats import holds_seats

    for entry in (
        Entry.objects.select_for_update(of=("self",))
        .filter(release=release, state=RESERVED)
        .select_related("order")
    ):
        order = entry.order
        if order is not None and order.status == OrderStatus.PAID:
            ENTRY.check("pay", entry)
            ENTRY.save(entry, "pay")
            done["paid"] += 1
        elif order is None or not holds_seats(order, now=now):
            _end_turn(release, entry, done)


def _lapse_admissions(release: Release, now: datetime, done: dict) -> None:
    """Admitted entries whose time to reserve ran out lapse: reserving
    needs no confirmed address (its link is e-mailed at the admission), so
    the time, not the address, ended the turn."""
    for entry in Entry.objects.select_for_update().filter(
        release=release, state=ADMITTED, admission_expires_at__lte=now
    ):
        _end_turn(release, entry, done)


def _end_turn(release: Release, entry: Entry, done: dict) -> None:
    """A reserved entry whose hold ran out: it passes its turn on if its
    address is still unconfirmed (it could not pay), else it lapses; an
    admitted one (its time to reserve ran out) lapses."""
    passes = entry.state == RESERVED and _needs_confirmation(release, entry)
    transition = "pass_turn" if passes else "lapse"
    ENTRY.check(transition, entry)
    ENTRY.save(entry, transition)
    done["passed" if transition == "pass_turn" else "lapsed"] += 1


def _sell_out(release: Release, now: datetime) -> int:
    """The rest of the queue becomes the waiting list, in the same order."""
    waiting = list(
        Entry.objects.select_for_update()
        .filter(release=release, state=WAITING)
        .order_by("rank")
    )
    for entry in waiting:
        ENTRY.check("sell_out", entry)
        ENTRY.save(entry, "sell_out")
    if release.sold_out_at is None:
        release.sold_out_at = now
        release.save(update_fields=["sold_out_at"])
    return len(waiting)


def _needs_confirmation(release: Release, entry: Entry) -> bool:
    return entry.email_confirmed_at is None


def due_releases(now: datetime | None = None):
    """Releases the worker looks after: queued, window closed, still on sale."""
    now = now or timezone.now()
    return Release.objects.filter(
        mode="random_window",
        window_closes_at__lte=now,
        event__sales_stop_at__gt=now,
    ).values_list("pk", flat=True)


def tick(now: datetime | None = None) -> dict:
    """Draw every release whose window closed RELEASE_ARRIVAL_GRACE_SECONDS
    ago (joins sent inside the window and still waiting for an app server
    get in first), then admit: one round."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.RELEASE_ARRIVAL_GRACE_SECONDS)
    done = {}
    for release_id in due_releases(now):
        drew = draw(release_id, now=now, after=grace)
        counts = admit(release_id, now=now)
        if drew or any(counts.values()):
            done[release_id] = {"drew": drew, **counts}
    return done


def told(entry: Entry, *, now: datetime | None = None) -> Entry:
    """The buyer is told of their turn (a status answer or the queue page):
    the first time, the time to reserve counts from now, so a turn is not
    lost to a slow answer or a browser that asked late. Only a turn not yet
    over is extended, so it never lasts beyond twice the time to reserve
    from the admission, and a buyer who never looks holds the place no
    longer than before. One conditional UPDATE, once per admission (not a
    state change: the entry stays admitted); a ballot's admission, told by
    e-mail, keeps its time."""
    if entry.state != ADMITTED or entry.told_at is not None:
        return entry
    release = entry.release
    now = now or timezone.now()
    if release.is_ballot or entry.admitted_at is None:
        return entry
    expires = entry.admission_expires_at
    if expires is None or expires <= now:
        return entry  # over: the worker's next round ends the turn
    until = max(now + release.admit_duration, expires)
    if Entry.objects.filter(
        pk=entry.pk, state=ADMITTED, told_at__isnull=True, admission_expires_at__gt=now
    ).update(told_at=now, admission_expires_at=until):
        entry.told_at = now
        entry.admission_expires_at = until
    return entry


# --- the reservation gate ---------------------------------------------------------
def admission_for(
    *,
    event_id: int,
    session_token: str | None,
    tickets: int,
    now: datetime | None = None,
) -> Entry | None:
    """The session's admitted entry, if the event is queued; None if it is
    not queued. Raises NotAdmitted or TooManyTickets."""
    now = now or timezone.now()
    release = queued_release(event_id)
    if release is None:
        return None
    entry = entry_of(event_id, session_token)
    if entry is None:
        raise NotAdmitted()
    usable = (
        entry.state == ADMITTED
        and entry.admission_expires_at is not None
        and entry.admission_expires_at > now
    ) or entry.state == RESERVED
    if not usable:
        raise NotAdmitted()
    # An unconfirmed address does not stop the reservation (the confirmation
    # mail may still be on its way); it stops the payment (``payment_gate``).
    if tickets > entry.tickets_wanted:
        raise TooManyTickets(entry.tickets_wanted)
    return entry


def payment_gate(order: Order) -> None:
    """Before an order's payment starts: an order reserved through a queue
    entry whose address is not confirmed may not be paid yet. Raises
    ConfirmationRequired (the e-mailed link confirms it), or TurnPassed
    once the entry's turn passed on (its hold lapsed unconfirmed). One
    indexed read (the entry by its order), none for a paid order."""
    if order.status == OrderStatus.PAID:
        return
    state = (
        Entry.objects.filter(order_id=order.pk, email_confirmed_at__isnull=True)
        .values_list("state", flat=True)
        .first()
    )
    if state is None:
        return
    if state == PASSED:
        raise TurnPassed()
    raise ConfirmationRequired()


def record_reservation(entry: Entry, order: Order) -> None:
    """The admitted entry reserved: it is used (its order named)."""
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if entry.state == RESERVED:
            # A new reservation of the same session replaced the order.
            Entry.objects.filter(pk=entry.pk).update(order=order)
            return
        ENTRY.check("reserve", entry)
        entry.order = order
        ENTRY.save(entry, "reserve", ["order"])


def reserve_from_waiting_list(entry_id: int, order: Order) -> Entry:
    """A waiting-list entry took an offer (the ``waitlist`` app): it reserved.
    The offer's link was e-mailed to the entry's address, so taking it
    confirms the address (its payment needs no other confirmation)."""
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry_id)
        if entry.email_confirmed_at is None and ENTRY.allowed("confirm", entry):
            ENTRY.check("confirm", entry)
            entry.email_confirmed_at = timezone.now()
            ENTRY.save(entry, "confirm", ["email_confirmed_at"])
        ENTRY.check("reserve", entry)
        entry.order = order
        ENTRY.save(entry, "reserve", ["order"])
    return entry


def join_waiting_list(
    *,
    release: Release,
    session_token: str,
    email: str,
    tickets_wanted: int,
    language: str = "sv",
    now: datetime | None = None,
) -> Entry:
    """An entry straight onto the waiting list (a sold-out event's, the
    ``waitlist`` app), at its back. Raises AlreadyInQueue."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            release = Release.objects.select_for_update().get(pk=release.pk)
            ENTRY.check("join_waiting_list", None)
            entry = Entry.objects.create(
                release=release,
                session_key_hash=session_hash(session_token),
                email=email,
                email_normalised=normalise_email(email),
                tickets_wanted=tickets_wanted,
                language=language or "sv",
                joined_at=now,
                rank=_next_rank(release),
                state=SOLD_OUT_WAITING,
            )
            ENTRY.save(entry, "join_waiting_list", created=True)
    except IntegrityError:
        raise AlreadyInQueue() from None
    return entry


def swish_number_for(order: Order) -> str:
    """The Swish number the order's payment is requested from (a release that
    binds entries to one), or ""."""
    entry = (
        Entry.objects.filter(order=order, release__bind_swish_number=True)
        .exclude(swish_number="")
        .only("swish_number")
        .first()
    )
    return entry.swish_number if entry is not None else ""


def _mail_on_commit(entry: Entry, kind: str, priority: int | None = None) -> None:
    from .tasks import send_entry_mail

    entry_id = entry.pk
    task = (
        send_entry_mail
        if priority is None
        else send_entry_mail.using(priority=priority)
    )
    transaction.on_commit(lambda: task.enqueue(entry_id, kind))


__all__ = [
    "AlreadyInQueue",
    "ConfirmationRequired",
    "NotAdmitted",
    "PAID",
    "SESSION_QUEUE_KEY",
]
