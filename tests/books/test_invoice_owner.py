"""Only books/invoices.py writes an invoice request's state, and only through
its machine (``INVOICE_REQUEST``): the static check of tests/state_owner_check.py."""

import ast
from pathlib import Path

from tests.state_owner_check import violations

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketshop"
OWNER = "books/invoices.py"


def test_no_module_but_the_owner_writes_the_state():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "migrations" not in path.parts and relative != OWNER:
            found += violations(path.read_text(), "InvoiceRequest", name=relative)
    assert found == []


def test_the_owner_writes_only_through_its_machine():
    source = (SRC / OWNER).read_text()
    found = violations(source, "InvoiceRequest", name=OWNER)
    assert found and all(": creates with " in line for line in found), found
    calls = [
        ast.unparse(node.func)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
    ]
    assert calls.count("INVOICE_REQUEST.save") == 2
    assert calls.count("INVOICE_REQUEST.check") == 2


def test_the_checker_finds_a_write_elsewhere():
    for snippet in (
        "InvoiceRequest.objects.filter(pk=1).update(status='SENT')\n",
        "InvoiceRequest.objects.create(order=o)\n",
    ):
        assert violations(snippet, "InvoiceRequest", name="x.py") != []
