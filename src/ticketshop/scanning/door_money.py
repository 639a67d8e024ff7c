"""Money due at the door, as the scanner shows it: once per order.

An order exchanged to dearer tickets owes the difference at the door
(``Order.due_at_door``). The scanner shows that amount on the first ticket
of the order scanned at the door (no ticket of the order used before), not
on each ticket: two tickets of an order owing 100 kr owe 100 kr, not 200.
Online it comes with the answer of ``validate_ticket``
(``due_of_scanned``); offline the door list carries it per order
(``orders_due``). Recording it (``backoffice.services.collect_at_door``)
needs the server: the scanner page offers it online only.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from ticketshop.api import format_money
from ticketshop.orders.models import Order, OrderStatus, Ticket


@dataclass(frozen=True)
class DueAtDoor:
    order_reference: str
    # What the order still owes at the door (0 when nothing).
    amount: Decimal
    # No ticket of the order was used before this scan: the one to ask on.
    first_of_order: bool

    def as_fields(self) -> dict:
        """The additive fields of the validate_ticket answer."""
        return {
            "order_reference": self.order_reference,
            "due_at_door": format_money(self.amount),
            "first_of_order": self.first_of_order,
        }


def due_of_scanned(ticket, *, times_used: int) -> DueAtDoor:
    """What the order of a scanned ticket of a paid order owes at the door,
    from what the scan's read of the ticket already holds
    (``selectors.ScannedTicket``: the order's reference and amount due, and
    whether another of its tickets was used), with no further query: the
    door's hot path. ``times_used`` is the ticket's count before the scan.

    Two tickets of one order scanned at the same instant at two doors may
    both be "first of the order" (each read before the other's use): the
    door is asked twice rather than never.
    """
    return DueAtDoor(
        order_reference=ticket.order_reference,
        amount=ticket.due_at_door,
        first_of_order=times_used == 0 and not ticket.others_used,
    )


def orders_due(*, event_ids: list[int]) -> dict[str, dict]:
    """The door list's ``orders_due``: each paid order of these events that
    owes money at the door, by reference, with the amount (once per order)
    and its tickets that open the door, and how many of them were used."""
    orders = Order.objects.filter(
        event_id__in=event_ids, status=OrderStatus.PAID, due_at_door__gt=0
    ).values_list("pk", "reference", "due_at_door")
    by_id = {pk: (reference, due) for pk, reference, due in orders}
    tickets: dict[int, list[tuple[str, int]]] = {pk: [] for pk in by_id}
    rows = (
        Ticket.objects.filter(order_id__in=list(by_id), cancelled_at__isnull=True)
        .filter(Q(event_id__in=event_ids))
        .order_by("pk")
        .values_list("order_id", "external_id", "times_used")
    )
    for order_id, external_id, used in rows:
        tickets[order_id].append((external_id, used))
    return {
        reference: {
            "due_at_door": format_money(due),
            "tickets": [external_id for external_id, _used in tickets[pk]],
            "used": sum(1 for _id, used in tickets[pk] if used),
        }
        for pk, (reference, due) in by_id.items()
    }


def door_money_messages() -> dict[str, str]:
    """The scanner page's texts about money due (door-money.js)."""
    return {
        "due_title": _("To pay at the door: %(amount)s kr"),
        "due_detail": _("Order %(order)s: once for the whole order"),
        "due_sending": _("Recording…"),
        "due_paid_cash": _("Paid in cash: %(amount)s kr"),
        "due_paid_swish": _("Paid with Swish: %(amount)s kr"),
        "due_nothing": _("Nothing is due at the door for this order any more."),
        "due_less": _("Only %(amount)s kr is due now: scan the ticket again."),
        "due_failed": _("Not recorded: no answer from the server; try again."),
    }
