"""The state machines of Swish payment requests and refunds.

``PAYMENT`` ("swish_payment") owns ``SwishPayment.status`` and ``REFUND``
("swish_refund") owns ``SwishRefund.status``: every change of either goes
through ``check`` and ``save`` (one ``StateChange`` history row, in the
caller's transaction, which holds the order's lock), and records are created
here (``create_payment``, ``create_refund``) so their first history row is
written too. tests/test_state_owners.py holds that no other module writes
them; docs/swish.md shows the tables (``describe()``).

Columns: "swish" is what Swish said (or that it was not asked), "order" what
happens to the order in the same transaction.
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import (
    OPEN_STATUSES,
    REFUND_IN_FLIGHT,
    REFUND_OPEN,
    RefundStatus,
    SwishPayment,
    SwishRefund,
    SwishStatus,
)

FINAL_STATUSES = (
    SwishStatus.PAID,
    SwishStatus.DECLINED,
    SwishStatus.ERROR,
    SwishStatus.CANCELLED,
)
# The statuses a payment request read from Swish may have.
SWISH_STATUSES = {SwishStatus.CREATED, *FINAL_STATUSES}
# The statuses a refund read from Swish may have (swish.md section 9).
SWISH_REFUND_STATUSES = {RefundStatus.PAID, RefundStatus.ERROR, *REFUND_IN_FLIGHT}

_OPEN = tuple(OPEN_STATUSES)
# What Swish reports is recorded unless the request was settled already; a
# request recorded as refused that Swish turns out to know is recorded too.
_NOT_SETTLED = (*OPEN_STATUSES, SwishStatus.REJECTED)

# fmt: off
PAYMENT = Machine(
    "swish_payment",
    [
        Transition(
            "create", (None,), SwishStatus.CREATING,
            notes={
                "swish": "not asked yet: the id is stored before the PUT",
                "order": "its payment starts (or a request whose token was"
                " lost is replaced)",
            },
        ),
        Transition(
            "created", _NOT_SETTLED, SwishStatus.CREATED,
            notes={
                "swish": "took the PUT (201 and a token), or a read says CREATED",
                "order": "waits for the payer, its seats held",
            },
        ),
        Transition(
            "rejected", (SwishStatus.CREATING,), SwishStatus.REJECTED,
            notes={
                "swish": "refused the PUT (4xx), sent no token, or the id was"
                " taken (RP09); or the shop never used it",
                "order": "its payment ends if this was its latest request;"
                " the hold stays",
            },
        ),
        Transition(
            "not_found", (SwishStatus.CREATING,), SwishStatus.REJECTED,
            notes={
                "swish": "404 twice the HTTP timeout after the create: the PUT"
                " never arrived",
                "order": "its payment ends if this was its latest request",
            },
        ),
        Transition(
            "paid", _NOT_SETTLED, SwishStatus.PAID,
            notes={
                "swish": "PAID (read after a callback, on the schedule of"
                " reads, by reconciliation, or after a cancel's RP07)",
                "order": "paid and its tickets e-mailed, if it can still be"
                " paid; else flagged, with the refund action",
            },
        ),
        Transition(
            "declined", _NOT_SETTLED, SwishStatus.DECLINED,
            notes={
                "swish": "DECLINED",
                "order": "fails if this was its latest request",
            },
        ),
        Transition(
            "error", _NOT_SETTLED, SwishStatus.ERROR,
            notes={
                "swish": "ERROR (TM01, BANKIDCL, …)",
                "order": "fails if this was its latest request; DS24 (outcome"
                " unknown): held and flagged for an organiser",
            },
        ),
        Transition(
            "cancelled", _NOT_SETTLED, SwishStatus.CANCELLED,
            notes={
                "swish": "CANCELLED (the shop's cancel, or Swish's own)",
                "order": "fails if this was its latest request",
            },
        ),
        Transition(
            "resolved_paid", _OPEN, SwishStatus.PAID,
            notes={
                "swish": "not asked: an organiser checked with the bank",
                "order": "paid by hand, its tickets e-mailed",
            },
        ),
        Transition(
            "resolved_unpaid", _OPEN, SwishStatus.CANCELLED,
            notes={
                "swish": "not asked: an organiser checked with the bank",
                "order": "failed by hand",
            },
        ),
    ],
    states=SwishStatus.values,
    columns=("swish", "order"),
    label=lambda payment: payment.request_id,
)

REFUND = Machine(
    "swish_refund",
    [
        Transition(
            "create", (None,), RefundStatus.CREATING,
            notes={
                "swish": "not sent yet: recorded with its id, its send task"
                " queued",
                "order": "a refund pending (cancel, cancel tickets, a cheaper"
                " exchange, refund, the retry)",
            },
        ),
        Transition(
            "sent", (RefundStatus.CREATING,), RefundStatus.CREATED,
            notes={
                "swish": "took the PUT (201), or a read found it with a status"
                " the shop does not know (read again next pass)",
                "order": "-",
            },
        ),
        Transition(
            "refused", (RefundStatus.CREATING,), RefundStatus.REJECTED,
            notes={
                "swish": "refused the PUT (4xx)",
                "order": "flagged; the amount is owed again (the retry)",
            },
        ),
        Transition(
            "not_found", tuple(REFUND_IN_FLIGHT), RefundStatus.REJECTED,
            notes={
                "swish": "404 for a refund it had taken, twice the HTTP"
                " timeout after it was recorded",
                "order": "flagged; the amount is owed again",
            },
        ),
        Transition(
            "created", tuple(REFUND_OPEN), RefundStatus.CREATED,
            notes={"swish": "CREATED", "order": "-"},
        ),
        Transition(
            "validated", tuple(REFUND_OPEN), RefundStatus.VALIDATED,
            notes={"swish": "VALIDATED", "order": "-"},
        ),
        Transition(
            "debited", tuple(REFUND_OPEN), RefundStatus.DEBITED,
            notes={"swish": "DEBITED", "order": "-"},
        ),
        Transition(
            "paid", tuple(REFUND_OPEN), RefundStatus.PAID,
            notes={
                "swish": "PAID: the money is back",
                "order": "refunded once none of its refunds is open and"
                " nothing is owed",
            },
        ),
        Transition(
            "error", tuple(REFUND_OPEN), RefundStatus.ERROR,
            notes={
                "swish": "ERROR",
                "order": "flagged; the amount is owed again (the retry)",
            },
        ),
    ],
    states=RefundStatus.values,
    columns=("swish", "order"),
    label=lambda refund: refund.refund_id,
)
# fmt: on

# Swish's status read from Swish -> the transition that records it.
PAYMENT_BY_SWISH = {
    SwishStatus.CREATED: "created",
    SwishStatus.PAID: "paid",
    SwishStatus.DECLINED: "declined",
    SwishStatus.ERROR: "error",
    SwishStatus.CANCELLED: "cancelled",
}
REFUND_BY_SWISH = {
    RefundStatus.CREATED: "created",
    RefundStatus.VALIDATED: "validated",
    RefundStatus.DEBITED: "debited",
    RefundStatus.PAID: "paid",
    RefundStatus.ERROR: "error",
}


def move(machine: Machine, record, name: str, fields=(), ok=True, why="") -> None:
    """Make transition ``name`` of ``record`` (its order locked by the
    caller's transaction): check it, save ``fields`` with the new status and
    write the history row. Raises TransitionNotAllowed, writing nothing."""
    machine.check(name, record, ok, why)
    machine.save(record, name, fields)


def create_payment(**fields) -> SwishPayment:
    """Record a new payment request (CREATING) and its first history row."""
    PAYMENT.check("create", None)
    payment = SwishPayment.objects.create(**fields)
    PAYMENT.save(payment, "create", created=True)
    return payment


def create_refund(**fields) -> SwishRefund:
    """Record a new refund (CREATING) and its first history row."""
    REFUND.check("create", None)
    refund = SwishRefund.objects.create(**fields)
    REFUND.save(refund, "create", created=True)
    return refund
