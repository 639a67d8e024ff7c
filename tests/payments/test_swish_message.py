"""The ``message`` sent to Swish: every character class Swish documents
passes unchanged, everything else is mapped into them (swish.sanitise_message;
docs/swish.md, "The message")."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from ticketshop.payments import swish
from ticketshop.payments.swish import sanitise_message
from ticketshop.swish_simulator.services import MESSAGE_RE as SIMULATOR_RE

# What Swish documents, written out here rather than taken from the code.
LOWER = "abcdefghijklmnopqrstuvwxyzåäö"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ"
DIGITS = "0123456789"
PUNCTUATION = ":;.,?!()"
PAYMENT_RE = re.compile(r"^[a-zåäöA-ZÅÄÖ0-9 :;.,?!()\-”]{0,50}$")
REFUND_RE = re.compile(r"^[a-zåäöA-ZÅÄÖ0-9 :;.,?!()”]{0,50}$")


def test_each_documented_character_class_passes_unchanged():
    for chars in (LOWER, UPPER, DIGITS, PUNCTUATION, "-", "”"):
        for char in chars:
            assert sanitise_message(f"a{char}b") == f"a{char}b", char
    assert sanitise_message(f"{LOWER[:25]} {UPPER[:24]}") == (
        f"{LOWER[:25]} {UPPER[:24]}"
    )


def test_characters_swish_may_refuse_are_mapped():
    # The ASCII quotation mark: MSS's guide lists it, production's ”.
    assert sanitise_message('Konsert "Vinter"') == "Konsert ”Vinter”"
    assert sanitise_message("“Vinter” „Sommar“ «Höst»") == ("”Vinter” ”Sommar” ”Höst”")
    assert sanitise_message("Kalle’s & Lisa's") == "Kalles Lisas"
    assert sanitise_message("Jazz – Blues — Rock") == "Jazz - Blues - Rock"
    assert sanitise_message("Crème brûlée för Zoë") == "Creme brulee för Zoe"
    assert sanitise_message("Ærø Øl ß") == "Ärö Öl ss"
    assert sanitise_message("Vänta… [igen] {nu}") == "Vänta... (igen) (nu)"
    assert sanitise_message("50% 🎉 #1 / 2 @ kl. 19") == "50 1 2 kl. 19"
    assert sanitise_message("\t  Två\nrader  ") == "Två rader"


def test_a_refunds_message_has_no_hyphen():
    assert sanitise_message("Återbetalning AB-12", refund=True) == (
        "Återbetalning AB 12"
    )
    assert sanitise_message('Återbetalning "x"', refund=True) == ("Återbetalning ”x”")


def test_at_most_fifty_characters_and_no_edge_spaces():
    assert sanitise_message("x" * 80) == "x" * 50
    assert sanitise_message("a" * 49 + " b") == "a" * 49


@given(st.text(max_size=120))
@example('Årsmöte "2027" – Café & Bar’s fest 🎉…')
@example("ﬁ ﬂ ½ Ⅻ ＡＢＣ")
def test_any_text_becomes_a_message_swish_documents(text):
    payment = sanitise_message(text)
    refund = sanitise_message(text, refund=True)
    assert PAYMENT_RE.match(payment), payment
    assert REFUND_RE.match(refund), refund
    assert SIMULATOR_RE.match(payment)  # the demo's simulator takes it too
    assert payment == payment.strip() and "  " not in payment
    # Sanitising is stable: what is sent once is sent the same again.
    assert sanitise_message(payment) == payment
    assert sanitise_message(refund, refund=True) == refund


@given(
    st.text(
        alphabet=st.sampled_from(sorted(swish.PAYMENT_MESSAGE_CHARS - {" "})),
        min_size=1,
        max_size=50,
    )
)
def test_text_of_documented_characters_only_is_kept_as_is(text):
    assert sanitise_message(text) == text
