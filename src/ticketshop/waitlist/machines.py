"""The waiting list offer's state machine, ``WAITLIST_OFFER``.

Only ``waitlist/services.py`` changes an ``Offer``'s state, through this
table (check, then save with one history row, in the transaction holding
the offer's lock; tests/test_state_owners.py holds that).
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import OfferState

OFFERED = OfferState.OFFERED.value
TAKEN = OfferState.TAKEN.value
DECLINED = OfferState.DECLINED.value
LAPSED = OfferState.LAPSED.value

WAITLIST_OFFER = Machine(
    "waitlist_offer",
    [
        Transition(
            "offer",
            (None,),
            OFFERED,
            {
                "seats": "held by a reservation until the offer expires, made under"
                " the event's seat lock with the seats counted",
                "next": "an e-mail with the offer's link, in the same transaction",
            },
        ),
        Transition(
            "take",
            (OFFERED,),
            TAKEN,
            {
                "seats": "the buyer's own reservation replaces the hold (all the"
                " seats or fewer; the rest come back)",
                "next": "the buyer pays as any buyer; seats left over are offered on",
            },
        ),
        Transition(
            "decline",
            (OFFERED,),
            DECLINED,
            {
                "seats": "the hold is released",
                "next": "offered to the next entry; the entry stays on the list"
                " behind everyone not yet offered (or leaves it)",
            },
        ),
        Transition(
            "lapse",
            (OFFERED,),
            LAPSED,
            {
                "seats": "the hold lapsed with the offer",
                "next": "offered to the next entry; this entry gets no further offer",
            },
        ),
    ],
    states=(OFFERED, TAKEN, DECLINED, LAPSED),
    columns=("seats", "next"),
    field="state",
    label=lambda offer: f"offer {offer.pk}",
)
