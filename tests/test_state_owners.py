"""Each state machine is the only writer of its records' state.

A static check of every module under src/ (migrations aside), one row per
machine, with the checker of tests/state_owner_check.py (itself tested on
snippets that break the rule in tests/test_state_owner_check.py): no module
but the owner assigns the guarded field, ``.update(…)``s, ``.create(…)``s or
``bulk_update``s it, saves it, or creates a record of the model (creating
writes the first history row, so it goes through the owner too).

The Swish payment and refund machines (``payments/machines.py``) own their
records' status: the flows change it only with ``move(MACHINE, …)`` (check,
then save with one history row), never by writing the field. The order's
owner test is tests/orders/test_lifecycle_owner.py; ticket deliveries' and
outgoing mail's are in tests/delivery and tests/backoffice. Queue entries
and waiting-list offers are made and moved by one service module each
(``SERVICE_OWNED`` below).
"""

import ast
from pathlib import Path

import pytest

from tests.state_owner_check import violations

SRC = Path(__file__).resolve().parents[1] / "src" / "ticketshop"

# (model, its owner modules, its machine's name in the owner).
MACHINES_OWNED = [
    ("SwishPayment", {"payments/machines.py"}, "PAYMENT"),
    ("SwishRefund", {"payments/machines.py"}, "REFUND"),
]


def _modules(owners=frozenset()):
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "migrations" not in path.parts and relative not in owners:
            yield relative, path


def _calls(source: str) -> list[str]:
    return [
        ast.unparse(node.func)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
    ]


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_no_module_but_the_owner_writes_the_state(model, owners, machine):
    found = []
    for relative, path in _modules(owners):
        found += violations(path.read_text(), model, name=relative)
    assert found == []


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_the_owner_creates_the_records_with_their_first_history_row(
    model, owners, machine
):
    for owner in owners:
        source = (SRC / owner).read_text()
        found = violations(source, model, name=owner)
        # The rule has teeth only if the owner is where the records are made.
        assert found and all(": creates with " in line for line in found), found
        calls = _calls(source)
        assert calls.count(f"{machine}.save") >= len(found)
        assert calls.count(f"{machine}.check") == calls.count(f"{machine}.save")


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_every_change_is_checked_before_it_is_saved(model, owners, machine):
    # Outside the owner, a transition is ``move(MACHINE, …)``: check, then
    # save. A bare ``MACHINE.save`` would skip the guard.
    bare, moves = [], 0
    for relative, path in _modules(owners):
        calls = _calls(path.read_text())
        bare += [relative for call in calls if call == f"{machine}.save"]
        source = path.read_text()
        moves += source.count(f"move({machine},") + source.count(f"move(\n{machine}")
    assert bare == []
    assert moves >= 4


# Records whose one owner module makes and moves them (a service module):
# (model, its owner, its machine's name there, the least number of saves
# through the machine the owner must make, its guarded field).
SERVICE_OWNED = [
    ("Entry", "release/services.py", "ENTRY", 1, "state"),
    ("Offer", "waitlist/services.py", "WAITLIST_OFFER", 4, "state"),
]


@pytest.mark.parametrize("model, owner, machine, least, field", SERVICE_OWNED)
def test_no_module_but_the_service_writes_the_state(
    model, owner, machine, least, field
):
    found = []
    for relative, path in _modules({owner}):
        found += violations(path.read_text(), model, field=field, name=relative)
    assert found == []


@pytest.mark.parametrize("model, owner, machine, least, field", SERVICE_OWNED)
def test_the_service_writes_only_through_its_machine(
    model, owner, machine, least, field
):
    source = (SRC / owner).read_text()
    found = violations(source, model, field=field, name=owner)
    # The owner is where the records are made, each with its history row.
    assert found and all(": creates with " in line for line in found), found
    calls = _calls(source)
    saves = calls.count(f"{machine}.save") + calls.count(f"{machine}.record_many")
    assert saves >= least
    assert calls.count(f"{machine}.check") >= saves


@pytest.mark.parametrize("model, owner, machine, least, field", SERVICE_OWNED)
def test_the_check_finds_a_write_outside_the_service(
    model, owner, machine, least, field
):
    # The rule has teeth: a module setting the guarded field is found.
    source = f"def f(x):\n    {model}.objects.filter(pk=1).update({field}='taken')\n"
    assert violations(source, model, field=field, name="x.py")


# Every machine and the test that holds it as the only writer of its records.
OWNER_TESTS = {
    "order": "tests/orders/test_lifecycle_owner.py",
    "swish_payment": "tests/test_state_owners.py",
    "swish_refund": "tests/test_state_owners.py",
    "ticket_delivery": "tests/delivery/test_delivery_owner.py",
    "outgoing_mail": "tests/backoffice/test_outbox_owner.py",
    "invoice_request": "tests/books/test_invoice_owner.py",
    "release_entry": "tests/test_state_owners.py",
    "waitlist_offer": "tests/test_state_owners.py",
}


def test_every_state_machine_has_an_owner_test():
    """A machine added without an owner test (or one whose test was removed)
    fails here: the registry of machines is the list to cover."""
    from django.utils.module_loading import autodiscover_modules

    from ticketshop.statemachine.machine import MACHINES

    autodiscover_modules("machines")
    root = SRC.parents[1]
    registered = {name for name in MACHINES if not name.startswith("toy")}
    assert registered == set(OWNER_TESTS)
    assert all((root / path).is_file() for path in OWNER_TESTS.values())
