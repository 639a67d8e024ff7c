"""The ticket e-mail's state machine: its table (``TICKET_DELIVERY``).

Only ``delivery/services.py`` changes a ``TicketDelivery``'s status, and
only through this table: ``TICKET_DELIVERY.check`` then
``TICKET_DELIVERY.save``, which writes one history row in the same
transaction. The claim (``claim_token``, ``claimed_until``) is not a state:
a worker holds it while SMTP talks, and the state changes in the short
transaction after the send, with the outcome.

The outcomes of a send (``send``, ``fail``, ``give_up``) are allowed from
any state: the SMTP conversation has happened, so its outcome is recorded
whatever happened to the row meanwhile (a resend, a lapsed claim).
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import DeliveryStatus

PENDING = DeliveryStatus.PENDING.value
RETRYING = DeliveryStatus.RETRYING.value
SENT = DeliveryStatus.SENT.value
GAVE_UP = DeliveryStatus.GAVE_UP.value
NOT_PAID = DeliveryStatus.NOT_PAID.value
ANY = (PENDING, RETRYING, SENT, GAVE_UP, NOT_PAID)

TICKET_DELIVERY = Machine(
    "ticket_delivery",
    [
        Transition(
            "queue",
            (None,),
            PENDING,
            {
                "mail": "created with the order's payment (or by a resend, or by a"
                " worker that finds a paid order without one)",
                "next": "a task sends it now",
            },
        ),
        Transition(
            "queue_again",
            ANY,
            PENDING,
            {
                "mail": "the order is paid again before its e-mail went; attempts"
                " start over after GAVE_UP or NOT_PAID",
                "next": "a task sends it now",
            },
        ),
        Transition(
            "resend",
            ANY,
            PENDING,
            {
                "mail": "the organiser sends it again: sent time, attempts, error"
                " and claim cleared",
                "next": "a task sends it now",
            },
        ),
        Transition(
            "send",
            ANY,
            SENT,
            {"mail": "the SMTP server took it; times sent + 1", "next": "nothing"},
        ),
        Transition(
            "fail",
            ANY,
            RETRYING,
            {
                "mail": "the send failed; the error is kept",
                "next": "a retry task at the next attempt (the wait doubles, capped)",
            },
        ),
        Transition(
            "give_up",
            ANY,
            GAVE_UP,
            {
                "mail": "the send failed DELIVERY_MAX_ATTEMPTS times",
                "next": "the organiser's resend, or a new payment",
            },
        ),
        Transition(
            "not_paid",
            ANY,
            NOT_PAID,
            {
                "mail": "a worker finds the order not paid (cancelled or released);"
                " nothing is sent",
                "next": "queued again if the order is paid",
            },
        ),
    ],
    states=ANY,
    columns=("mail", "next"),
    label=lambda delivery: f"of order {delivery.order_id}",
)
