"""Why a ticket no longer opens the door, in words the door can say aloud.

A ticket stops opening the door in one of three ways (orders.lifecycle):

- its whole order is cancelled (``cancel`` / ``cancel_paid``): the order
  reads ``FAILED_ADMIN``, its tickets keep ``cancelled_at`` empty;
- it is cancelled on its own (``cancel_tickets``, a partial refund): its
  ``cancelled_at`` is set, the order stays ``PAID``;
- its order is exchanged (``exchange``): every live ticket gets
  ``cancelled_at`` and new tickets with new ids are made for the new night;
  the order moves to that night (``Order.event``), the old tickets keep
  their old event.

The reason is read from those fields: a cancelled ticket whose event is no
longer its order's, or whose id an exchange's audit entry lists, was
exchanged (to the order's night); otherwise it was refunded when its order
has a refund (pending, done or failed), else cancelled. An order that was
never paid (a lapsed or released hold) has no reason: it is "not paid".
"""

from dataclasses import dataclass
from datetime import datetime

from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order, OrderStatus

REFUNDED = "refunded"
EXCHANGED = "exchanged"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Night:
    """The event an exchanged ticket's order moved to."""

    id: int
    title: str
    title_en: str
    event_at: datetime


@dataclass(frozen=True)
class Revocation:
    reason: str
    # Set for EXCHANGED: the night the order holds tickets for now.
    moved_to: Night | None = None


def reason_for(
    *,
    ticket_cancelled: bool,
    ticket_event_id: int,
    order_status: str,
    order_event_id: int,
    refund_state: str,
    exchanged: bool = False,
) -> str | None:
    """Return why a ticket is revoked, or None when it is not (or unpaid)."""
    if ticket_cancelled:
        if exchanged or ticket_event_id != order_event_id:
            return EXCHANGED
        return REFUNDED if refund_state else CANCELLED
    if order_status == OrderStatus.FAILED_ADMIN:
        return REFUNDED if refund_state else CANCELLED
    return None


def night_of(event: ChapterEvent) -> Night:
    return Night(
        id=event.pk,
        title=event.title,
        title_en=event.title_en,
        event_at=event.event_at,
    )


def exchanged_ids(order_ids) -> set[str]:
    """Return the old ticket ids the audit log's exchanges of these orders list.

    Only needed for an exchange within one event (another ticket type the
    same night); one to another night is seen from the tickets alone.
    """
    from ticketshop.backoffice.models import AuditEntry  # noqa: PLC0415

    ids: set[str] = set()
    entries = AuditEntry.objects.filter(
        action="exchange", order_id__in=list(order_ids)
    ).values_list("after", flat=True)
    for after in entries:
        old = after.get("old_tickets") if isinstance(after, dict) else None
        if isinstance(old, list):
            ids.update(str(external_id) for external_id in old)
    return ids


def revocation_of(
    *, external_id: str, order_id: int, ticket_event_id: int, cancelled: bool
) -> Revocation | None:
    """Return why this ticket no longer opens the door (a few queries; only
    asked for tickets that are refused)."""
    order = (
        Order.objects.select_related("event")
        .only("status", "refund_state", "event")
        .get(pk=order_id)
    )
    exchanged = (
        cancelled
        and ticket_event_id == order.event_id
        and external_id in exchanged_ids([order_id])
    )
    reason = reason_for(
        ticket_cancelled=cancelled,
        ticket_event_id=ticket_event_id,
        order_status=order.status,
        order_event_id=order.event_id,
        refund_state=order.refund_state,
        exchanged=exchanged,
    )
    if reason is None:
        return None
    moved_to = night_of(order.event) if reason == EXCHANGED else None
    return Revocation(reason=reason, moved_to=moved_to)
