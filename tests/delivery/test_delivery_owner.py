"""Only delivery/services.py writes a ticket e-mail's state, and only through
its machine (``TICKET_DELIVERY``): a static check of every module under src/
(migrations aside), with the checker of tests/state_owner_check.py."""

import ast
from pathlib import Path

import pytest

from tests.state_owner_check import violations

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketshop"

# (model, its owner modules, its machine's name in the owner) — the rows this
# package adds to the owner table.
MACHINES_OWNED = [
    ("TicketDelivery", {"delivery/services.py"}, "TICKET_DELIVERY"),
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
        found += violations(path.read_text(), model, name=relative)
    assert found == []


@pytest.mark.parametrize("model, owners, machine", MACHINES_OWNED)
def test_the_owner_writes_only_through_its_machine(model, owners, machine):
    for owner in owners:
        source = (SRC / owner).read_text()
        # Its only writes the checker sees are creations, each followed by
        # the machine's history row (save(..., created=True)).
        found = violations(source, model, name=owner)
        assert found and all(": creates with " in line for line in found), found
        calls = [
            ast.unparse(node.func)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call)
        ]
        assert calls.count(f"{machine}.save") >= 5
        assert calls.count(f"{machine}.check") == calls.count(f"{machine}.save")
