"""A queue entry's state machine: its table (``ENTRY``, named ``release_entry``).

Only ``release/services.py`` changes an ``Entry``'s state, and only through
this table: ``ENTRY.check`` then ``ENTRY.save`` (one history row in the
same transaction); the draw's bulk changes get theirs with ``record_many``.

    waiting ─admit→ admitted ─reserve→ reserved ─pay→ paid
       │               └─lapse→ lapsed (no reservation in time)
       │                 (reserved: lapse when the hold ran out unpaid, or
       │                 pass_turn→ passed if the address was unconfirmed)
       ├─pass_turn→ passed (a ballot's draw: the address not confirmed)
       ├─sell_out→ sold_out_waiting (the waiting list; ``waitlist`` offers)
       └─leave→ left
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import EntryState

WAITING = EntryState.WAITING.value
ADMITTED = EntryState.ADMITTED.value
RESERVED = EntryState.RESERVED.value
PAID = EntryState.PAID.value
LAPSED = EntryState.LAPSED.value
PASSED = EntryState.PASSED.value
LEFT = EntryState.LEFT.value
SOLD_OUT_WAITING = EntryState.SOLD_OUT_WAITING.value
ANY = (WAITING, ADMITTED, RESERVED, PAID, LAPSED, PASSED, LEFT, SOLD_OUT_WAITING)

ENTRY = Machine(
    "release_entry",
    [
        Transition(
            "join",
            (None,),
            WAITING,
            {
                "place": "none until the draw; after it, behind everyone in"
                " arrival order",
                "buyer": "one entry per browser session and e-mail address;"
                " a ballot e-mails the confirmation link now (a window of"
                " minutes at the admission)",
            },
        ),
        Transition(
            "join_waiting_list",
            (None,),
            SOLD_OUT_WAITING,
            {
                "place": "at the back of the waiting list",
                "buyer": "joined a sold-out event's waiting list",
            },
        ),
        Transition(
            "confirm",
            (WAITING, ADMITTED, RESERVED, SOLD_OUT_WAITING),
            None,
            {"buyer": "the e-mailed link was opened: the address is confirmed"},
        ),
        Transition(
            "draw",
            (WAITING,),
            None,
            {
                "place": "ranked by HMAC-SHA256(seed, public id)",
                "buyer": "sees a place and an estimated wait",
            },
        ),
        Transition(
            "admit",
            (WAITING,),
            ADMITTED,
            {
                "place": "admitted-up-to passes it",
                "buyer": "may reserve until the admission expires (ballot: an"
                " e-mailed link; a window of minutes: the confirmation link is"
                " e-mailed)",
            },
        ),
        Transition(
            "reserve",
            (ADMITTED, SOLD_OUT_WAITING),
            RESERVED,
            {
                "place": "used",
                "buyer": "holds seats (an order), pays within the hold",
            },
        ),
        Transition(
            "pay",
            (RESERVED,),
            PAID,
            {"place": "used", "buyer": "paid: tickets e-mailed"},
        ),
        Transition(
            "lapse",
            (ADMITTED, RESERVED),
            LAPSED,
            {
                "place": "passed on to the next",
                "buyer": "did not reserve in time, or the hold lapsed unpaid",
            },
        ),
        Transition(
            "pass_turn",
            (WAITING, RESERVED),
            PASSED,
            {
                "place": "passed on to the next",
                "buyer": "the address was not confirmed in time (a ballot's"
                " draw, or before the hold ran out)",
            },
        ),
        Transition(
            "sell_out",
            (WAITING, ADMITTED),
            SOLD_OUT_WAITING,
            {
                "place": "kept, as a place on the waiting list",
                "buyer": "no seats left: offered any that come back",
            },
        ),
        Transition(
            "leave",
            (WAITING, ADMITTED, SOLD_OUT_WAITING),
            LEFT,
            {"place": "given up", "buyer": "left the queue or the waiting list"},
        ),
    ],
    states=ANY,
    columns=("place", "buyer"),
    label=lambda entry: entry.public_id,
    field="state",
)
