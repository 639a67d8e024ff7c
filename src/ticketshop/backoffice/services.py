"""What an organiser does, each in one place: the change (through the
order's state machine), its audit entry and the buyer's e-mail.

- ``issue_tickets``: complimentary or manual tickets, e-mailed in the same
  transaction that creates them;
- ``cancel_order`` / ``cancel_tickets``: cancel and refund (Swish money goes
  back through payments' refunds), then tell the buyer;
- ``retry_refund``: pay back again what a refused or failed refund owes;
- ``exchange_order``: move the tickets to another event or type;
- ``change_email`` / ``resend``: find and fix;
- ``start_mailing``: a mass e-mail, one outbox row per buyer.

Each writes an ``AuditEntry`` (who, when, what, before, after).
"""

import logging
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ticketshop import audit as audit_log
from ticketshop.db.locks import run_locked
from ticketshop.delivery.content import kronor
from ticketshop.delivery.services import (
    buyer_language,
    schedule_resend,
    schedule_ticket_delivery,
)
from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.orders import lifecycle
from ticketshop.orders.addresses import validate_email_address
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod, Ticket
from ticketshop.payments.common import outcome_unknown
from ticketshop.payments.errors import (
    MoreThanDueAtDoor,
    NothingDueAtDoor,
    RefundNotPossible,
)
from ticketshop.payments.models import OPEN_STATUSES, DoorPayment, DoorPaymentMethod
from ticketshop.payments.refunds import (
    money_to_return,
    order_refund_too_late,
    record_order_refund,
    record_owed_refunds,
    record_ticket_refund,
)
from ticketshop.payments.selectors import get_latest_payment
from ticketshop.payments.settle import ask_swish_to_cancel, settle_unknown_payment
from ticketshop.statemachine.machine import acting_as, current_actor, staff_actor

from . import outbox
from .models import AuditEntry, Mailing

logger = logging.getLogger(__name__)

ISSUE_METHODS = (PaymentMethod.COMPLIMENTARY, PaymentMethod.CASH, PaymentMethod.INVOICE)


def order_state(order: Order) -> dict:
    """The order as the audit log keeps it."""
    tickets = list(
        Ticket.objects.filter(order_id=order.pk, cancelled_at__isnull=True)
        .order_by("pk")
        .values_list("external_id", flat=True)
    )
    return {
        "status": order.status,
        "event": order.event_id,
        "email": order.email,
        "name": order.name,
        "total": str(order.total_price),
        "payment_method": order.payment_method,
        "refund_state": order.refund_state,
        "tickets": tickets,
    }


def kr(amount: Decimal) -> str:
    """An amount as the active language writes it ("99,00" in Swedish)."""
    return number_format(amount, decimal_pos=2)


def audit(
    user,
    action: str,
    summary,
    *,
    order: Order | None = None,
    event_id: int | None = None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    username: str | None = None,
) -> AuditEntry:
    """Record an organiser's action (``summary``: a callable that writes it
    in the active language; it is kept in every language; ``username``: who,
    when no user did it, such as a scanner account)."""
    return audit_log.record(
        user=user,
        username=username or "",
        action=action,
        summary=summary,
        order=order,
        event_id=event_id,
        before=before,
        after=after,
    )


# --- Complimentary and manual tickets ---------------------------------------------


@dataclass(frozen=True)
class IssueRequest:
    event_id: int
    counts: Mapping[int, int]
    name: str
    email: str
    method: str
    # {type id: price}; None: the price of 0 for complimentary, the type's
    # price otherwise.
    prices: Mapping[int, Decimal] | None = None
    allow_over_capacity: bool = False
    receipt: bool = True


def issue_prices(request: IssueRequest) -> dict[int, Decimal]:
    if request.prices is not None:
        return {t: Decimal(request.prices[t]) for t in request.counts}
    if request.method == PaymentMethod.COMPLIMENTARY:
        return {t: Decimal("0") for t in request.counts}
    offers = TicketOffer.objects.filter(
        event_id=request.event_id, ticket_type_id__in=list(request.counts)
    ).select_related("ticket_type")
    return {o.ticket_type_id: o.ticket_type.price for o in offers}


def issue_tickets(*, user, request: IssueRequest) -> Order:
    """Issue an organiser's order (paid at once) and schedule its ticket
    e-mail in the same transaction. Raises ``OutOfTickets`` unless the seats
    are there or ``allow_over_capacity`` (logged) was chosen."""
    if request.method not in ISSUE_METHODS:
        raise ValueError(f"not an organiser's payment method: {request.method}")
    # ValidationError with the reason; the form checks first to show it.
    email = validate_email_address(request.email)
    counts = {t: n for t, n in request.counts.items() if n > 0}
    if not counts:
        raise ValueError("no tickets")
    offered = set(
        TicketOffer.objects.filter(
            event_id=request.event_id, ticket_type_id__in=list(counts)
        ).values_list("ticket_type_id", flat=True)
    )
    if offered != set(counts):
        raise ValueError("a ticket type is not offered for the event")
    prices = issue_prices(request)

    def locked() -> Order:
        order = lifecycle.issue(
            event_id=request.event_id,
            counts=counts,
            prices=prices,
            name=request.name,
            email=email,
            method=request.method,
            allow_over_capacity=request.allow_over_capacity,
        )
        schedule_ticket_delivery(order=order, receipt=request.receipt)
        audit(
            user,
            "issue",
            lambda: (
                ngettext(
                    "Issued %(count)d ticket (%(method)s, %(total)s kr) to %(name)s "
                    "<%(email)s>%(over)s%(receipt)s",
                    "Issued %(count)d tickets (%(method)s, %(total)s kr) to %(name)s "
                    "<%(email)s>%(over)s%(receipt)s",
                    sum(counts.values()),
                )
                % {
                    "count": sum(counts.values()),
                    "method": PaymentMethod(request.method).label,
                    "total": kr(order.total_price),
                    "name": request.name,
                    "email": email,
                    "over": _(", beyond capacity by choice")
                    if request.allow_over_capacity
                    else "",
                    "receipt": "" if request.receipt else _(", without receipt"),
                }
            ),
            order=order,
            after={
                **order_state(order),
                "allow_over_capacity": request.allow_over_capacity,
                "receipt": request.receipt,
            },
        )
        return order

    return _act(user, locked)


# --- Cancel and refund -------------------------------------------------------------


# What the buyer is told, one function per part, so that each e-mail says
# what happened, which codes no longer work, which still do, and what money
# moves. Called under translation.override(buyer_language(order)).


def _kr(amount: Decimal) -> str:
    return number_format(amount, decimal_pos=2, use_l10n=True)


def _codes(tickets) -> str:
    return ", ".join(t.external_id for t in tickets)


def _void_text(tickets) -> str:
    return ngettext(
        "This code no longer opens the door: %(codes)s.",
        "These codes no longer open the door: %(codes)s.",
        len(tickets),
    ) % {"codes": _codes(tickets)}


def _still_valid_text(tickets) -> str:
    if not tickets:
        return _("No ticket of this order opens the door any more.")
    return ngettext(
        "This ticket still works as before: %(codes)s.",
        "These tickets still work as before: %(codes)s.",
        len(tickets),
    ) % {"codes": _codes(tickets)}


def _money_text(amount: Decimal, *, swish: bool) -> str:
    if swish and amount > 0:
        return _(
            "%(amount)s kr is paid back to the Swish account you paid from; "
            "it usually arrives within a few minutes."
        ) % {"amount": kr(amount)}
    return _("There is no money to pay back.")


def _exchange_money_text(difference: Decimal, *, swish: bool) -> str:
    if difference > 0:
        return _(
            "The new tickets cost %(amount)s kr more; it is to be paid at the door."
        ) % {"amount": _kr(difference)}
    if difference < 0 and swish:
        return _(
            "The new tickets cost %(amount)s kr less; it is paid back to the "
            "Swish account you paid from."
        ) % {"amount": _kr(-difference)}
    if difference < 0:
        return _(
            "The new tickets cost %(amount)s kr less; the organiser pays it "
            "back to you."
        ) % {"amount": _kr(-difference)}
    return _("The price is the same: nothing to pay and nothing to pay back.")


def _queue_notice(order: Order, *, kind: str, subject: str, parts) -> None:
    """Queue the buyer's e-mail in the use case's transaction."""
    with transaction.atomic():
        outbox.queue_mail(
            key=f"{kind}:{order.pk}:{secrets.token_hex(8)}",
            recipient=order.email,
            subject=subject,
            body="\n\n".join([_("Hello,"), *parts]),
            order=order,
        )


def _notify_cancellation(order: Order, *, what: str, cancelled, remaining, money):
    if not order.email:
        return
    event = order.event.title_in(order.language)
    _queue_notice(
        order,
        kind="cancel",
        subject=_("Cancelled: %(event)s (order %(ref)s)")
        % {"event": event, "ref": order.reference},
        parts=[
            _(
                "The organiser of %(event)s has cancelled %(what)s of your "
                "order %(ref)s."
            )
            % {"event": event, "what": what, "ref": order.reference},
            _void_text(cancelled),
            _still_valid_text(remaining),
            money,
        ],
    )


def _notify_exchange(order: Order, *, old_event, old_codes, difference, swish):
    if not order.email:
        return
    language = order.language

    def when(event) -> str:
        return date_format(timezone.localtime(event.event_at), "j F Y, H:i")

    new = list(order.tickets.filter(cancelled_at__isnull=True).order_by("pk"))
    _queue_notice(
        order,
        kind="exchange",
        subject=_("Exchanged: %(event)s (order %(ref)s)")
        % {"event": order.event.title_in(language), "ref": order.reference},
        parts=[
            _(
                "The organiser has moved your order %(ref)s from %(old)s "
                "(%(old_when)s) to %(new)s (%(new_when)s)."
            )
            % {
                "ref": order.reference,
                "old": old_event.title_in(language),
                "old_when": when(old_event),
                "new": order.event.title_in(language),
                "new_when": when(order.event),
            },
            ngettext(
                "The old code no longer opens the door: %(codes)s.",
                "The old codes no longer open the door: %(codes)s.",
                len(old_codes),
            )
            % {"codes": ", ".join(old_codes)},
            ngettext(
                "Your new ticket, %(codes)s, comes in a separate e-mail with "
                "its QR code.",
                "Your new tickets, %(codes)s, come in a separate e-mail with "
                "their QR codes.",
                len(new),
            )
            % {"codes": _codes(new)},
            _exchange_money_text(difference, swish=swish),
        ],
    )


def _act(user, body, /, **kwargs):
    """Run an organiser's use case: one durable transaction behind the
    writer gate (``run_locked``), whose history rows name the organiser."""
    with acting_as(staff_actor(user) if user is not None else current_actor()):
        return run_locked(body, **kwargs)


def _live_tickets(order: Order) -> list[Ticket]:
    return list(order.tickets.filter(cancelled_at__isnull=True).order_by("pk"))


def _requested_by(user) -> str:
    return user.get_username() if user is not None else ""


def _refund_in_time(order: Order, verdict):
    """The verdict, or why not if the Swish money it pays back is older than
    Swish refunds (then nothing is done: see RefundTooLate)."""
    if verdict and lifecycle.refund_expected(order):
        too_late = order_refund_too_late(order)
        if too_late:
            return lifecycle.Allowed(False, str(too_late))
    return verdict


def refund_too_late_text(order: Order) -> str:
    """The sentence saying why Swish cannot pay this order's money back any
    more, and what to do instead; "" when it can (or none is to be paid)."""
    if not lifecycle.refund_expected(order):
        return ""
    too_late = order_refund_too_late(order)
    return str(too_late) if too_late else ""


def cancel_allowed(order: Order):
    """May the order be cancelled now (with its reason if not)?"""
    verdict = lifecycle.may_cancel(order)
    if order.status == OrderStatus.PAID:
        return _refund_in_time(order, verdict)
    return verdict


def cancel_tickets_allowed(order: Order):
    return _refund_in_time(order, lifecycle.may_cancel_tickets(order))


def cancel_order(*, user, order_id: int, notify: bool = True) -> list[str]:
    """Cancel an order; a Swish-paid one is refunded in full. Returns refund
    ids. In one locked transaction: the transition, the refund, the audit
    entry and the buyer's e-mail (queued)."""

    def locked() -> list[str]:
        now = timezone.now()
        order = lifecycle.lock_order(order_id)
        before = order_state(order)
        swish = order.status == OrderStatus.PAID and lifecycle.refund_expected(order)
        amount = order.total_price
        cancelled = _live_tickets(order)
        if swish:
            refunds = record_order_refund(
                order, requested_by=_requested_by(user), now=now
            )
            ids = [r.refund_id for r in refunds]
        else:
            lifecycle.cancel(order, now=now)
            ids = []
        audit(
            user,
            "cancel",
            lambda: (
                _("Cancelled order %(ref)s%(refund)s")
                % {
                    "ref": order.reference,
                    "refund": _(", refund of %(amount)s kr requested through Swish")
                    % {"amount": kr(amount)}
                    if swish
                    else "",
                }
            ),
            order=order,
            before=before,
            after={**order_state(order), "refunds": ids},
        )
        if notify and before["status"] == OrderStatus.PAID:
            # Written in the buyer's language, whatever the organiser's.
            with translation.override(buyer_language(order)):
                _notify_cancellation(
                    order,
                    what=_("all tickets"),
                    cancelled=cancelled,
                    remaining=[],
                    money=_money_text(amount, swish=swish),
                )
        return ids

    return _act(user, locked)


def cancel_tickets(*, user, order_id: int, ticket_ids, notify: bool = True):
    """Cancel single tickets of a paid order (a partial Swish refund of their
    price). Returns refund ids. One locked transaction, as ``cancel_order``."""

    def locked() -> list[str]:
        now = timezone.now()
        order = lifecycle.lock_order(order_id)
        before = order_state(order)
        swish = lifecycle.refund_expected(order)
        tickets = list(
            Ticket.objects.filter(
                order_id=order_id, pk__in=list(ticket_ids), cancelled_at__isnull=True
            )
        )
        amount = sum((t.price for t in tickets), Decimal("0"))
        refunds = record_ticket_refund(
            order, ticket_ids=ticket_ids, requested_by=_requested_by(user), now=now
        )
        ids = [r.refund_id for r in refunds]
        order.refresh_from_db()
        names = ", ".join(t.external_id for t in tickets)
        audit(
            user,
            "cancel_tickets",
            lambda: (
                _("Cancelled tickets %(ids)s of order %(ref)s (%(amount)s kr)")
                % {"ids": names, "ref": order.reference, "amount": kr(amount)}
            ),
            order=order,
            before=before,
            after={**order_state(order), "refunds": ids},
        )
        if notify:
            # Written in the buyer's language, whatever the organiser's.
            with translation.override(buyer_language(order)):
                _notify_cancellation(
                    order,
                    what=ngettext("%(count)d ticket", "%(count)d tickets", len(tickets))
                    % {"count": len(tickets)},
                    cancelled=tickets,
                    remaining=_live_tickets(order),
                    money=_money_text(amount, swish=swish),
                )
        return ids

    return _act(user, locked)


def refund_allowed(order: Order):
    """May "Refund via Swish" pay money back now: money the shop did not
    accept, or a paid Swish order (then cancelled with its refund)?"""
    if money_to_return(order):
        too_late = order_refund_too_late(order)
        return (
            lifecycle.Allowed(False, str(too_late))
            if too_late
            else (lifecycle.Allowed(True))
        )
    if lifecycle.refund_expected(order) and lifecycle.may_cancel(order):
        if order.status == OrderStatus.PAID:
            return _refund_in_time(order, lifecycle.Allowed(True))
    return lifecycle.Allowed(False, gettext_lazy("no paid Swish payment to refund."))


def refund_via_swish(*, user, order_id: int) -> list[str]:
    """Pay back an order's Swish money (the admin's "Refund via Swish"):
    money the shop did not accept is returned and the order stays as it is
    (audited as ``return_money``); a paid order is cancelled and refunded in
    full, as ``cancel_order`` does (its audit entry and the buyer's e-mail).
    Raises ``RefundNotPossible``."""
    # Read outside the use case's lock only to choose which one runs; each
    # checks again under the lock.
    order = Order.objects.get(pk=order_id)
    if (
        not money_to_return(order)
        and order.status == OrderStatus.PAID
        and lifecycle.refund_expected(order)
    ):
        return cancel_order(user=user, order_id=order_id)

    def locked() -> list[str]:
        order = lifecycle.lock_order(order_id)
        before = order_state(order)
        refunds = record_order_refund(order, requested_by=_requested_by(user))
        ids = [r.refund_id for r in refunds]
        amount = sum((r.amount for r in refunds), Decimal("0"))
        audit(
            user,
            "return_money",
            lambda: (
                _("Paid back %(amount)s kr not accepted for order %(ref)s (Swish)")
                % {"amount": kr(amount), "ref": order.reference}
            ),
            order=order,
            before=before,
            after={**order_state(order), "refunds": ids},
        )
        return ids

    return _act(user, locked)


def retry_refund(*, user, order_id: int) -> list[str]:
    """Pay back what a refused or failed refund still owes."""

    def locked() -> list[str]:
        order = lifecycle.lock_order(order_id)
        before = order_state(order)
        refunds = record_owed_refunds(order, requested_by=_requested_by(user))
        ids = [r.refund_id for r in refunds]
        audit(
            user,
            "retry_refund",
            lambda: _("Retried the refund of order %(ref)s") % {"ref": order.reference},
            order=order,
            before=before,
            after={**order_state(order), "refunds": ids},
        )
        return ids

    return _act(user, locked)


# --- An unknown payment outcome, settled by hand ---------------------------------


def settle_allowed(order: Order):
    """May an organiser settle the order's payment by hand: only when Swish
    answered DS24 or no longer knows the request, or (first asking Swish to
    cancel it) while the request is still open. Never a final status Swish
    did not report."""
    verdict = lifecycle.may_settle_unknown(order)
    if not verdict:
        return verdict
    latest = get_latest_payment(order_id=order.pk)
    if outcome_unknown(latest) or (
        latest is not None and latest.status in OPEN_STATUSES
    ):
        return lifecycle.Allowed(True)
    return lifecycle.Allowed(
        False, gettext_lazy("Swish has not reported an unknown outcome.")
    )


def must_ask_swish_first(order: Order) -> bool:
    """The order's request is still open at Swish: settling it starts by
    cancelling it there (``ask_swish_to_cancel``)."""
    latest = get_latest_payment(order_id=order.pk)
    return (
        latest is not None
        and latest.status in OPEN_STATUSES
        and not outcome_unknown(latest)
    )


def settle_unknown(*, user, order_id: int, paid: bool) -> bool | str:
    """Settle by hand an order whose payment outcome Swish could not tell,
    after checking with the bank: paid (the tickets are e-mailed) or
    released. One locked transaction with its audit entry. Returns False,
    changing nothing, when the outcome is not unknown (any more).

    A request still open at Swish is cancelled there first, and Swish's
    answer settles the order (paid after all, or cancelled); returns that
    answer ("PAID", "CANCELLED", "unknown": Swish no longer knows it, settle
    again; "unreachable": nothing changed), with an audit entry."""
    if must_ask_swish_first(Order.objects.get(pk=order_id)):
        with acting_as(staff_actor(user) if user is not None else current_actor()):
            answer = ask_swish_to_cancel(order_id=order_id)

        def asked() -> str:
            order = lifecycle.lock_order(order_id)
            audit(
                user,
                "settle_asked_swish",
                lambda: (
                    _(
                        "Asked Swish to cancel the payment of order %(ref)s "
                        "before settling it; Swish's answer: %(answer)s"
                    )
                    % {"ref": order.reference, "answer": answer}
                ),
                order=order,
                after=order_state(order),
            )
            return answer

        return _act(user, asked)

    def locked() -> bool:
        order = lifecycle.lock_order(order_id)
        before = order_state(order)
        if not settle_unknown_payment(order, paid=paid):
            return False
        audit(
            user,
            "settle_paid" if paid else "settle_released",
            lambda: (
                (
                    _(
                        "Marked the payment of order %(ref)s as paid "
                        "(checked with the bank)"
                    )
                    if paid
                    else _("Released order %(ref)s: its payment never arrived")
                )
                % {"ref": order.reference}
            ),
            order=order,
            before=before,
            after=order_state(order),
        )
        return True

    return _act(user, locked)


# --- Exchange ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeResult:
    order: Order
    difference: Decimal
    refunds: list[str]


def exchange_prices(*, event_id: int, type_ids) -> dict[int, Decimal]:
    return {
        o.ticket_type_id: o.ticket_type.price
        for o in TicketOffer.objects.filter(
            event_id=event_id, ticket_type_id__in=list(type_ids)
        ).select_related("ticket_type")
    }


def exchange_allowed(order: Order):
    """May the order be exchanged now (with its reason if not)?"""
    return lifecycle.may_exchange(order)


def exchange_order(
    *, user, order_id: int, event_id: int, type_map: Mapping[int, int]
) -> ExchangeResult:
    """Move a paid order's tickets to another event and/or type (capacity
    checked under the target's seat lock). A cheaper exchange of a Swish
    order is refunded; a dearer one is recorded as paid at the door. The new
    tickets are e-mailed; the old ids stop opening the door."""
    prices = exchange_prices(event_id=event_id, type_ids=set(type_map.values()))
    if set(type_map.values()) - set(prices):
        raise ValueError("a ticket type is not offered for the target event")

    def locked() -> ExchangeResult:
        order = Order.objects.select_related("event").get(pk=order_id)
        before = order_state(order)
        old_event = order.event
        done = lifecycle.exchange(
            order,
            event_id=event_id,
            type_map=type_map,
            prices=prices,
            now=timezone.now(),
        )
        target = ChapterEvent.objects.get(pk=event_id)
        diff = done.difference

        def settle() -> str:
            if diff > 0:
                return _("%(amount)s kr to be paid at the door") % {"amount": kr(diff)}
            if diff < 0:
                return _("%(amount)s kr to pay back") % {"amount": kr(-diff)}
            return _("no price difference")

        audit(
            user,
            "exchange",
            lambda: (
                _("Exchanged order %(ref)s to %(event)s (%(settle)s)")
                % {
                    "ref": done.order.reference,
                    "event": target.title,
                    "settle": settle(),
                }
            ),
            order=done.order,
            event_id=event_id,
            before=before,
            after={
                **order_state(done.order),
                "difference": str(diff),
                "old_tickets": list(done.old_ticket_ids),
            },
        )
        refunds: list[str] = []
        if diff < 0 and done.order.payment_method == PaymentMethod.SWISH:
            try:
                with transaction.atomic():
                    refunds = [
                        r.refund_id
                        for r in record_owed_refunds(
                            done.order, requested_by=_requested_by(user)
                        )
                    ]
            except RefundNotPossible as exc:
                # RefundTooLate says why (a payment older than Swish
                # refunds): the difference is then not paid back by the shop.
                logger.warning(
                    "exchange of %s: no refund sent: %s",
                    done.order.reference,
                    str(exc) or "nothing to refund",
                )
        schedule_resend(order=done.order)
        exchanged = Order.objects.select_related("event").get(pk=order_id)
        with translation.override(buyer_language(exchanged)):
            _notify_exchange(
                exchanged,
                old_event=old_event,
                old_codes=list(done.old_ticket_ids),
                difference=diff,
                swish=exchanged.payment_method == PaymentMethod.SWISH,
            )
        return ExchangeResult(order=done.order, difference=diff, refunds=refunds)

    return _act(user, locked)


# --- Money due at the door -----------------------------------------------------------


def collect_at_door(
    *,
    order_id: int,
    amount: Decimal,
    method: str,
    key: str,
    user=None,
    recorded_by: str = "",
    now=None,
) -> DoorPayment:
    """Record ``amount`` of what the order owes at the door as paid there
    (cash or Swish at the door), audited, with the order locked.

    ``key`` names this collection: the same key again (a double click, a
    resent request) returns the payment already recorded and collects
    nothing more. Raises ``NothingDueAtDoor`` when nothing is due and
    ``MoreThanDueAtDoor`` for more than is due; nothing is written then.
    ``recorded_by`` names a scanner account when no user recorded it."""
    now = now or timezone.now()
    method = DoorPaymentMethod(method)
    if amount <= 0:
        raise ValueError("the amount must be positive")
    who = recorded_by or (user.get_username() if user is not None else "")

    def locked() -> DoorPayment:
        order = lifecycle.lock_order(order_id)
        # After the lock: a click sent twice finds the first one's row here.
        done = DoorPayment.objects.filter(key=key, order_id=order.pk).first()
        if done is not None:
            return done
        if order.status != OrderStatus.PAID or order.due_at_door <= 0:
            raise NothingDueAtDoor()
        if amount > order.due_at_door:
            raise MoreThanDueAtDoor(order.due_at_door)
        due_before = order.due_at_door
        lifecycle.collect_at_door(order, amount=amount, method=method.value, now=now)
        payment = DoorPayment.objects.create(
            order=order,
            event_id=order.event_id,
            amount=amount,
            method=method,
            recorded_by=who,
            recorded_at=now,
            key=key,
        )
        audit(
            user,
            "collect_at_door",
            _("Collected %(amount)s kr at the door (%(method)s) for order %(ref)s")
            % {
                "amount": kronor(amount),
                "method": method.label,
                "ref": order.reference,
            },
            order=order,
            username=who,
            before={"due_at_door": str(due_before)},
            after={
                "due_at_door": str(order.due_at_door),
                "amount": str(amount),
                "method": method.value,
            },
        )
        return payment

    return _act(user, locked)


# --- Find and fix --------------------------------------------------------------------


def search_orders(query: str):
    """Orders matching an e-mail, name, Swish reference, order number or
    ticket id (newest first)."""
    query = query.strip()
    if not query:
        return Order.objects.none()
    return (
        Order.objects.filter(
            Q(email__icontains=query)
            | Q(name__icontains=query)
            | Q(reference__iexact=query)
            | Q(payment_reference__iexact=query)
            | Q(tickets__external_id__iexact=query)
            | Q(swish_payments__payment_reference__iexact=query)
        )
        .select_related("event")
        .distinct()
        .order_by("-created_at")
    )


def change_email(*, user, order_id: int, email: str, resend: bool = True) -> Order:
    """Correct a buyer's e-mail address (logged) and resend the tickets, in
    one locked transaction. The same address again is no change: only the
    resend is done and logged."""
    email = validate_email_address(email)

    def locked() -> Order:
        order = lifecycle.lock_order(order_id)
        before = order.email
        if before != email:
            order.email = email
            order.save(update_fields=["email", "updated_at"])
            audit(
                user,
                "change_email",
                lambda: (
                    _("Changed the e-mail of order %(ref)s from %(old)s to %(new)s")
                    % {"ref": order.reference, "old": before or "-", "new": email}
                ),
                order=order,
                before={"email": before},
                after={"email": email},
            )
        if resend and order.status == OrderStatus.PAID:
            _resend(user, order)
        return order

    return _act(user, locked)


def resend_allowed(order: Order):
    """Only a paid order's tickets are sent."""
    if order.status == OrderStatus.PAID:
        return lifecycle.Allowed(True)
    return lifecycle.Allowed(
        False, gettext_lazy("Only a paid order's tickets are sent.")
    )


def _resend(user, order: Order) -> None:
    schedule_resend(order=order)
    audit(
        user,
        "resend",
        lambda: (
            _("Resent the tickets of order %(ref)s to %(email)s")
            % {"ref": order.reference, "email": order.email}
        ),
        order=order,
    )


def resend_order(*, user, order_id: int) -> None:
    """Send a paid order's tickets again, audited, in one locked transaction;
    raises ``OrderNotPaid`` (nothing written) for an order not paid."""

    def locked() -> None:
        _resend(user, lifecycle.lock_order(order_id))

    _act(user, locked)


# --- Mass e-mail ---------------------------------------------------------------------


def mailing_recipients(event_ids) -> list[str]:
    """The distinct e-mail addresses of the paid orders of the events."""
    emails = (
        Order.objects.filter(event_id__in=list(event_ids), status=OrderStatus.PAID)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted({e.strip().lower() for e in emails})


def subject_has_control_characters(subject: str) -> bool:
    """Tell whether a subject holds a line break or another control character.

    Django refuses to send a mail whose header holds a line break
    (BadHeaderError), so such a mailing would queue and never go out.
    """
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in subject)


def start_mailing(*, user, event_ids, subject: str, body: str) -> Mailing:
    """Create the mailing with one outbox row (and task) per buyer."""
    if subject_has_control_characters(subject):
        raise ValueError("a mailing's subject holds a control character")
    event_ids = list(event_ids)

    def locked() -> Mailing:
        mailing = Mailing.objects.create(
            subject=subject, body=body, created_by=user.get_username()
        )
        mailing.events.set(event_ids)
        recipients = mailing_recipients(event_ids)
        outbox.queue_mailing(mailing=mailing, recipients=recipients)
        audit(
            user,
            "mailing",
            lambda: (
                _("E-mail “%(subject)s” to %(count)d buyers")
                % {"subject": subject, "count": len(recipients)}
            ),
            event_id=event_ids[0] if len(event_ids) == 1 else None,
            after={"events": event_ids, "recipients": len(recipients)},
        )
        return mailing

    return _act(user, locked)


# --- The fair release: the sale mode, pausing admissions ---------------------------


@dataclass(frozen=True)
class ReleaseSettings:
    """An event's sale mode and the queue's parameters, as the organiser
    chose them (``None``: keep what the release has, or its default)."""

    mode: str
    queue_opens_at: object = None
    sale_opens_at: object = None
    window_closes_at: object = None
    admit_seconds: int | None = None
    max_checking_out: int | None = None
    overbook_factor: Decimal | None = None
    bind_swish_number: bool | None = None
    offer_seconds_before_show_day: int | None = None
    offer_seconds_on_show_day: int | None = None


# What the audit log keeps of a release (never its seed before the draw).
RELEASE_FIELDS = (
    "mode",
    "queue_opens_at",
    "sale_opens_at",
    "window_closes_at",
    "admit_seconds",
    "max_checking_out",
    "overbook_factor",
    "bind_swish_number",
    "offer_seconds_before_show_day",
    "offer_seconds_on_show_day",
    "paused",
)
# Fixed once the queue has entries: the draw is promised on them.
RELEASE_FIXED_ONCE_JOINED = ("mode", "queue_opens_at", "window_closes_at")


class ReleaseChangeRefused(ValueError):
    """A change the release no longer allows (its message says why)."""

    @staticmethod
    def joined_message() -> str:
        return _(
            "People have joined the queue: the sale mode, the "
            "queue's opening and the window's close can no longer "
            "change."
        )


def release_state(release) -> dict:
    """The release as the audit log keeps it."""
    if release is None:
        return {}
    state = {}
    for name in RELEASE_FIELDS:
        value = getattr(release, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        state[name] = value
    state["seed_commitment"] = release.seed_commitment
    return state


def release_problems(settings: ReleaseSettings) -> list[str]:
    """What is wrong with the chosen times and numbers (empty: nothing)."""
    from ticketshop.release.models import SaleMode

    problems = []
    if settings.mode not in SaleMode.values:
        problems.append(_("Choose a sale mode."))
    if settings.mode == SaleMode.RANDOM_WINDOW:
        opens, sale, closes = (
            settings.queue_opens_at,
            settings.sale_opens_at,
            settings.window_closes_at,
        )
        if not (opens and sale and closes):
            problems.append(
                _(
                    "A random window needs the time the queue opens, the sale "
                    "opens and the window closes."
                )
            )
        elif not opens <= sale < closes:
            problems.append(
                _(
                    "The queue opens at or before the sale, and the window "
                    "closes after the sale opens."
                )
            )
    factor = settings.overbook_factor
    if factor is not None and not Decimal("1") <= factor <= Decimal("2"):
        problems.append(_("The overbooking factor is between 1.0 and 2.0."))
    if settings.admit_seconds is not None and settings.admit_seconds < 30:
        problems.append(_("An admitted buyer needs at least 30 seconds to reserve."))
    if settings.max_checking_out is not None and settings.max_checking_out < 1:
        problems.append(_("At least one buyer must be able to check out at once."))
    for seconds in (
        settings.offer_seconds_before_show_day,
        settings.offer_seconds_on_show_day,
    ):
        if seconds is not None and seconds < 60:
            problems.append(
                _("An offer from the waiting list lasts at least a minute.")
            )
            break
    return problems


def set_release(
    *, user, event_id: int, settings: ReleaseSettings, username: str | None = None
):
    """Set an event's sale mode and the queue's parameters: one locked
    transaction with its audit entry. A new release gets its secret seed
    (its SHA-256 is shown from now on); once entries have joined, the mode,
    the queue's opening and the window's close stay as promised."""
    from ticketshop.release.models import Entry, Release

    problems = release_problems(settings)
    if problems:
        raise ReleaseChangeRefused(" ".join(str(p) for p in problems))

    def locked():
        event = ChapterEvent.objects.select_for_update().get(pk=event_id)
        release = Release.objects.select_for_update().filter(event=event).first()
        before = release_state(release)
        if release is None:
            release = Release(event=event)
        joined = (
            release.pk is not None and Entry.objects.filter(release=release).exists()
        )
        changes = {
            name: value
            for name, value in vars(settings).items()
            if value is not None or name.endswith("_at")
        }
        if joined:
            moved = [
                name
                for name in RELEASE_FIXED_ONCE_JOINED
                if changes.get(name) != getattr(release, name)
            ]
            if moved:
                raise ReleaseChangeRefused(ReleaseChangeRefused.joined_message())
        for name, value in changes.items():
            setattr(release, name, value)
        try:
            release.full_clean(exclude=["event", "seed", "seed_commitment"])
        except ValidationError as exc:
            raise ReleaseChangeRefused(" ".join(exc.messages)) from exc
        release.save()
        after = release_state(release)
        audit(
            user,
            "release_settings",
            lambda: (
                _("Sale mode of %(event)s: %(mode)s")
                % {"event": event.title, "mode": release.get_mode_display()}
            ),
            event_id=event.pk,
            before=before,
            after=after,
            username=username,
        )
        return release

    return _act(user, locked)


def pause_release(
    *, user, event_id: int, paused: bool, username: str | None = None
) -> bool:
    """Pause or resume admissions from an event's queue; False when it
    already was so (nothing written)."""
    from ticketshop.release.models import Release

    def locked() -> bool:
        release = Release.objects.select_for_update().get(event_id=event_id)
        if release.paused == paused:
            return False
        before = release_state(release)
        release.paused = paused
        release.save(update_fields=["paused"])
        title = release.event.title
        audit(
            user,
            "release_pause" if paused else "release_resume",
            lambda: (
                _("Admissions to %(event)s paused") % {"event": title}
                if paused
                else _("Admissions to %(event)s resumed") % {"event": title}
            ),
            event_id=event_id,
            before=before,
            after=release_state(release),
            username=username,
        )
        return True

    return _act(user, locked)
