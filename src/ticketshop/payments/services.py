"""Swish payments, by flow; this module only re-exports their public names.

- ``start.py``: start (or resume) a payment: record, PUT, record the token;
- ``settle.py``: apply Swish's state (callback, cancel, a read), settle the
  order; resolve an unknown outcome by hand;
- ``poll.py``: what the buyer's pages show (the database only);
- ``reads.py``: the task workers read open requests from Swish (a callback
  queues a read; a schedule with backoff);
- ``reconcile.py``: read every open request and refund from Swish;
- ``refunds.py``: what is owed, and recording the refunds an organiser decides;
- ``refund_send.py``: sending refunds and recording what Swish says of them;
- ``swish_read.py``: the one "read from Swish and apply" of both;
- ``machines.py``: the state machines of payment requests and refunds.

New code imports from those modules; callers of the old names keep working.
"""

from .common import (
    UNKNOWN_OUTCOME,
    new_swish_id,
    parse_swish_time,
    refund_send_grace,
)
from .machines import FINAL_STATUSES, SWISH_STATUSES
from .poll import BuyerView, read_order_for_buyer
from .reads import note_callback, read_due, read_payment
from .reconcile import reconcile_payments
from .refund_send import (
    REFUND_SLOT,
    apply_refund_object,
    refresh_refund,
    send_refund,
)
from .refunds import money_to_return, owed, refund_order, refund_owed, refund_tickets
from .settle import (
    apply_payment_object,
    cancel_payment,
    cancel_superseded_order,
    handle_callback,
    refresh_payment,
    resolve_unknown_payment,
)
from .start import start_payment

# The old private name (a test of the order's lifecycle reads it).
_owed = owed

__all__ = [
    "FINAL_STATUSES",
    "REFUND_SLOT",
    "SWISH_STATUSES",
    "UNKNOWN_OUTCOME",
    "BuyerView",
    "apply_payment_object",
    "apply_refund_object",
    "cancel_payment",
    "cancel_superseded_order",
    "handle_callback",
    "money_to_return",
    "new_swish_id",
    "note_callback",
    "owed",
    "parse_swish_time",
    "read_due",
    "read_order_for_buyer",
    "read_payment",
    "reconcile_payments",
    "refresh_payment",
    "refresh_refund",
    "refund_order",
    "refund_owed",
    "refund_send_grace",
    "refund_tickets",
    "resolve_unknown_payment",
    "send_refund",
    "start_payment",
]
