"""An order's history as organisers read it: each transition its order's
state machine (``lifecycle.ORDER``) wrote, in words of the reader's language.

The back office's order page and Django admin's order page both show it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from .lifecycle import ORDER
from .models import OrderStatus

# What each transition of the order's table did, in words (a test holds
# that every transition has them).
TRANSITION_LABELS = {
    "reserve": _("Seats reserved"),
    "release": _("Released (the buyer reserved again)"),
    "expire": _("Hold expired"),
    "renew": _("Hold renewed"),
    "start_payment": _("Payment started"),
    "new_token": _("New session secret"),
    "end_payment": _("Payment ended unpaid"),
    "pay": _("Paid"),
    "pay_late": _("Paid late (money after the hold had ended)"),
    "confirm_free": _("Confirmed free of charge"),
    "fail": _("Payment failed or released"),
    "cancel": _("Cancelled (unpaid)"),
    "cancel_paid": _("Cancelled (paid)"),
    "cancel_tickets": _("Tickets cancelled"),
    "issue": _("Tickets issued"),
    "exchange": _("Tickets exchanged"),
    "collect_at_door": _("Money collected at the door"),
    "refund_pending": _("Refund pending"),
    "refund_settled": _("Refunded"),
    "refund_failed": _("Refund failed"),
    "flag": _("Flagged for an organiser"),
    "clear_flag": _("Flag cleared"),
}

# Who acted, for actors that are not a person (``statemachine.actors``).
ACTOR_LABELS = {
    "buyer": _("the buyer"),
    "swish-callback": _("Swish (callback)"),
    "swish-read": _("the shop's scheduled read of Swish"),
    "reconcile": _("reconciliation with Swish"),
    "reconcile_payments": _("reconciliation with Swish"),
    "sweep": _("the shop's sweep"),
    "process": _("the shop"),
}


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    transition: str
    label: str
    from_state: str
    from_label: str
    to_state: str
    to_label: str
    actor: str
    actor_label: str


def _state_label(state: str) -> str:
    return OrderStatus(state).label if state in OrderStatus.values else (state or "–")


def actor_label(actor: str) -> str:
    """A staff member by their username; other actors in words."""
    if actor.startswith("staff:"):
        return actor.removeprefix("staff:")
    return ACTOR_LABELS.get(actor, actor)


def order_history(order_id: int) -> list[HistoryRow]:
    """The order's transitions, oldest first."""
    return [
        HistoryRow(
            at=change.at,
            transition=change.transition,
            label=TRANSITION_LABELS.get(change.transition, change.transition),
            from_state=change.from_state,
            from_label=_state_label(change.from_state),
            to_state=change.to_state,
            to_label=_state_label(change.to_state),
            actor=change.actor,
            actor_label=actor_label(change.actor),
        )
        for change in ORDER.history(order_id)
    ]
