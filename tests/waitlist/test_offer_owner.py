"""Only waitlist/services.py writes a waiting list offer's state, and only
through its machine (``WAITLIST_OFFER``, named ``waitlist_offer``): a static
check of every module under src/ (migrations aside), with the checker of
tests/state_owner_check.py."""

import ast
from pathlib import Path

import pytest

from tests.state_owner_check import violations

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketshop"

# (model, its owner modules, its machine's name in the owner).
MACHINES_OWNED = [
    ("Offer", {"waitlist/services.py"}, "WAITLIST_OFFER"),
]


def _modules(owners):
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "migrations" not in path.parts and relative not in owners:
            yield relative, path


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_no_module_but_the_owner_writes_the_state(model, owners, machine):
    found = []
    for relative, path in _modules(owners):
        found += violations(path.read_text(), model, field="state", name=relative)
    assert found == []


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_the_owner_writes_only_through_its_machine(model, owners, machine):
    for owner in owners:
        source = (SRC / owner).read_text()
        found = violations(source, model, field="state", name=owner)
        # The owner is where the records are made, each with its history row.
        assert found and all(": creates with " in line for line in found), found
        calls = [
            ast.unparse(node.func)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call)
        ]
        saves = calls.count(f"{machine}.save")
        assert saves >= 4
        assert calls.count(f"{machine}.check") >= saves


def test_the_check_finds_a_write_outside_the_owner():
    # The rule has teeth: a module setting an offer's state is found.
    source = "def f(offer):\n    Offer.objects.filter(pk=1).update(state='taken')\n"
    assert violations(source, "Offer", field="state", name="x.py")
