"""The outbox e-mail's state machine: its table (``OUTGOING_MAIL``).

Only ``backoffice/outbox.py`` changes an ``OutgoingMail``'s status, and only
through this table: ``OUTGOING_MAIL.check`` then ``OUTGOING_MAIL.save``
(one history row in the same transaction); a mailing's rows, inserted in
bulk, get theirs with ``record_many``. The claim (``claim_token``,
``claimed_until``) is not a state: a worker holds it while SMTP talks, and
the state changes in the short transaction after the send.

The outcomes of a send are allowed from any state: the SMTP conversation
has happened, so its outcome is recorded whatever happened meanwhile.
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import MailStatus

PENDING = MailStatus.PENDING.value
SENT = MailStatus.SENT.value
FAILED = MailStatus.FAILED.value
GAVE_UP = MailStatus.GAVE_UP.value
ANY = (PENDING, SENT, FAILED, GAVE_UP)

OUTGOING_MAIL = Machine(
    "outgoing_mail",
    [
        Transition(
            "queue",
            (None,),
            PENDING,
            {
                "mail": "one row per e-mail (a buyer's notice, or one recipient of"
                " a mailing), created with its task",
                "next": "a task sends it now",
            },
        ),
        Transition(
            "send",
            ANY,
            SENT,
            {"mail": "the SMTP server took it", "next": "nothing"},
        ),
        Transition(
            "fail",
            ANY,
            FAILED,
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
                "mail": "the send failed 8 times (outbox.MAX_ATTEMPTS)",
                "next": "nothing; the mailing's page counts it as failed",
            },
        ),
    ],
    states=ANY,
    columns=("mail", "next"),
    label=lambda mail: mail.key,
)
