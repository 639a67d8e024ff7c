"""Only orders/lifecycle.py writes an order's state, money or tickets.

A static check of every module under src/ (migrations aside): no other
module assigns or updates an order's guarded fields, saves them, or creates
orders or tickets. The checker is itself tested on snippets that break the
rule, so it cannot pass by finding nothing.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketshop"
OWNER = SRC / "orders" / "lifecycle.py"

# The order's fields that only its state machine writes.
GUARDED = {
    "status",
    "ticket_count",
    "total_price",
    "payment_pending",
    "payment_started_at",
    "paid_at",
    "payment_reference",
    "payment_method",
    "refund_state",
    "expires_at",
    "due_at_door",
    "needs_attention",
    "attention_reason",
}
# A ticket's fields that only the state machine writes.
TICKET_GUARDED = {"cancelled_at", "price", "order", "order_id", "external_id"}


def _root(node: ast.AST) -> str:
    """The name a chain of attributes and calls starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _other_model(node: ast.AST, model: str) -> bool:
    # ``SwishPayment.objects.filter(order=…)`` is a query of another model.
    root = _root(node)
    return root[:1].isupper() and root != model


def _is_order(node: ast.AST) -> bool:
    """An expression that names an order: ``order``, ``self.order``,
    ``locked`` (a locked order), ``Order.objects…``, ``….orders…``."""
    if _other_model(node, "Order"):
        return False
    text = ast.unparse(node).lower()
    return "order" in text or text in {"locked", "previous"}


def _is_ticket(node: ast.AST) -> bool:
    if _other_model(node, "Ticket"):
        return False
    text = ast.unparse(node).lower()
    return "ticket" in text and "delivery" not in text


def violations(source: str, name: str = "<snippet>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and (
                (target.attr in GUARDED and _is_order(target.value))
                or (target.attr in TICKET_GUARDED and _is_ticket(target.value))
            ):
                found.append(f"{name}:{node.lineno}: assigns {ast.unparse(target)}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "update":
            keys = {k.arg for k in node.keywords}
            if (keys & GUARDED and _is_order(func.value)) or (
                keys & TICKET_GUARDED and _is_ticket(func.value)
            ):
                found.append(f"{name}:{node.lineno}: {ast.unparse(func)}(…)")
        if isinstance(func, ast.Attribute) and func.attr == "save":
            for keyword in node.keywords:
                if keyword.arg != "update_fields":
                    continue
                names = {
                    elt.value
                    for elt in getattr(keyword.value, "elts", [])
                    if isinstance(elt, ast.Constant)
                }
                if names & GUARDED and _is_order(func.value):
                    found.append(f"{name}:{node.lineno}: saves {sorted(names)}")
            if not node.keywords and _is_order(func.value):
                found.append(f"{name}:{node.lineno}: saves a whole order")
        creator = ast.unparse(func)
        if creator in {
            "Order",
            "Ticket",
            "Order.objects.create",
            "Ticket.objects.create",
            "Order.objects.bulk_create",
            "Ticket.objects.bulk_create",
            "Order.objects.get_or_create",
            "Ticket.objects.get_or_create",
        }:
            found.append(f"{name}:{node.lineno}: creates with {creator}")
    return found


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path == OWNER:
            continue
        yield path


def test_no_module_but_the_lifecycle_writes_an_orders_state():
    found = []
    for path in _modules():
        found += violations(path.read_text(), str(path.relative_to(SRC)))
    assert found == []


@pytest.mark.parametrize(
    "snippet",
    [
        "order.status = OrderStatus.PAID",
        "locked.payment_pending = False",
        "self.order.ticket_count += 1",
        "Order.objects.filter(pk=1).update(status='PAID')",
        "order.tickets.update(cancelled_at=now)",
        "order.save(update_fields=['status', 'updated_at'])",
        "order.save()",
        "Ticket.objects.create(order=order, price=1)",
        "Order(event=event)",
        "ticket.price = 0",
    ],
)
def test_the_checker_finds_each_kind_of_write(snippet):
    assert violations(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    [
        "payment.status = 'PAID'",
        "delivery.status = DeliveryStatus.SENT",
        "SwishPayment.objects.filter(pk=1).update(status='PAID')",
        "order.save(update_fields=['email', 'updated_at'])",
    ],
)
def test_the_checker_leaves_other_writes_alone(snippet):
    assert violations(snippet) == []


def test_the_owner_itself_writes_them():
    # The rule has teeth only if the state machine is where the writes are.
    assert len(violations(OWNER.read_text())) >= 5
