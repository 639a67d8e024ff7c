"""Each state machine is the only writer of its records' state.

A static check of every module under src/ (migrations aside), one row per
machine: no module but the machine's owner(s) assigns the guarded field,
``.update(…)``s, ``.create(…)``s or ``bulk_update``s it, saves it, or creates
a record of the model (creating writes the first history row, so it goes
through the owner too). The checker is itself tested on snippets that break
the rule, so it cannot pass by finding nothing. The order's own owner test
is tests/orders/test_lifecycle_owner.py.
"""

import ast
import re
from pathlib import Path
from typing import NamedTuple

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ticketshop"
# The generic machine sets the field for every owner (Machine.save).
CORE = "statemachine/machine.py"


class Owned(NamedTuple):
    # The model's class name.
    model: str
    # Modules (under src/ticketshop/) that may write the field and create records.
    owners: tuple[str, ...]
    # The field the machine guards.
    field: str = "status"
    # Words an expression naming such a record contains (lower case); by
    # default the model's last word: "payment" for SwishPayment.
    words: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return self.words or (re.findall(r"[A-Z][a-z]*", self.model)[-1].lower(),)


MACHINES_OWNED = [
    Owned("SwishPayment", ("payments/machines.py",), "status"),
    Owned("SwishRefund", ("payments/machines.py",), "status"),
]

CREATORS = ("objects.create", "objects.bulk_create", "objects.get_or_create")
SETTERS = {"update", "create", "get_or_create", "update_or_create"}


def _root(node: ast.AST) -> str:
    """The name a chain of attributes and calls starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _bound_to_model(tree: ast.AST, owned: Owned) -> set[str]:
    """Variables the module binds to the model's records whatever their name:
    ``current = SwishRefund.objects.get(…)``, ``for row in SwishRefund.objects…``."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _root(node.value) == owned.model:
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.For) and _root(node.iter) == owned.model:
            if isinstance(node.target, ast.Name):
                bound.add(node.target.id)
    return bound


def _names_record(node: ast.AST, owned: Owned, bound: set[str] = frozenset()) -> bool:
    """An expression that names a record of the model: ``payment``,
    ``self.payment``, ``SwishPayment.objects…``, ``order.swish_payments…``,
    a variable bound to one; not a query of another model
    (``SimulatedPayment.objects…``)."""
    root = _root(node)
    if root == owned.model or root in bound:
        return True
    if root[:1].isupper():
        return False
    text = ast.unparse(node).lower()
    return any(word in text for word in owned.names())


def _constants(node: ast.AST | None) -> set:
    return {
        elt.value for elt in getattr(node, "elts", []) if isinstance(elt, ast.Constant)
    }


def _argument(call: ast.Call, name: str, position: int):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def violations(source: str, owned: Owned, name: str = "<snippet>") -> list[str]:
    found = []
    field = owned.field
    tree = ast.parse(source)
    bound = _bound_to_model(tree, owned)

    def names_record(node: ast.AST) -> bool:
        return _names_record(node, owned, bound)

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == field
                and names_record(target.value)
            ):
                found.append(f"{name}:{node.lineno}: assigns {ast.unparse(target)}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        where = f"{name}:{node.lineno}: {ast.unparse(func)}(…)"
        if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) > 1:
            key = node.args[1]
            if (
                isinstance(key, ast.Constant)
                and key.value == field
                and names_record(node.args[0])
            ):
                found.append(where)
        if isinstance(func, ast.Name) and func.id == owned.model:
            found.append(f"{name}:{node.lineno}: creates {owned.model}(…)")
        if not isinstance(func, ast.Attribute) or not names_record(func.value):
            continue
        keys = {k.arg for k in node.keywords}
        defaults = _argument(node, "defaults", 99)
        if isinstance(defaults, ast.Dict):
            keys |= {k.value for k in defaults.keys if isinstance(k, ast.Constant)}
        if func.attr in SETTERS and field in keys:
            found.append(where)
        elif func.attr == "bulk_update" and field in _constants(
            _argument(node, "fields", 1)
        ):
            found.append(where)
        elif func.attr == "save":
            fields = _argument(node, "update_fields", 99)
            if fields is None or field in _constants(fields):
                found.append(f"{where}: saves {field}")
        if ast.unparse(func) in {f"{owned.model}.{c}" for c in CREATORS}:
            found.append(f"{name}:{node.lineno}: creates with {ast.unparse(func)}")
    return found


def _modules(owned: Owned):
    allowed = {SRC / path for path in (*owned.owners, CORE)}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path in allowed:
            continue
        yield path


@pytest.mark.parametrize("owned", MACHINES_OWNED, ids=lambda o: o.model)
def test_no_module_but_the_owner_writes_the_state(owned):
    found = []
    for path in _modules(owned):
        found += violations(path.read_text(), owned, str(path.relative_to(SRC)))
    assert found == []


@pytest.mark.parametrize("owned", MACHINES_OWNED, ids=lambda o: o.model)
def test_the_owner_exists_and_creates_the_records(owned):
    # The rule has teeth only if the owner is where the records are made.
    for path in owned.owners:
        assert (SRC / path).exists(), path
    text = "\n".join((SRC / path).read_text() for path in owned.owners)
    assert any("creates" in v for v in violations(text, owned))


PAYMENT = Owned("SwishPayment", ("payments/machines.py",))


@pytest.mark.parametrize(
    "snippet",
    [
        "payment.status = SwishStatus.PAID",
        "self.payment.status = 'PAID'",
        "latest_payment.status: str = 'PAID'",
        "SwishPayment.objects.filter(pk=1).update(status='PAID')",
        "order.swish_payments.update(status='CANCELLED', settled_at=now)",
        "SwishPayment.objects.create(order=order, status='PAID')",
        "SwishPayment.objects.update_or_create(pk=1, defaults={'status': 'PAID'})",
        "SwishPayment.objects.bulk_update(payments, ['status', 'raw'])",
        "SwishPayment.objects.bulk_update(payments, fields=['status'])",
        "payment.save(update_fields=['status', 'updated_at'])",
        "payment.save()",
        "setattr(payment, 'status', 'PAID')",
        "SwishPayment.objects.create(order=order, request_id=new_id())",
        "SwishPayment(order=order)",
        "current = SwishPayment.objects.get(pk=1)\ncurrent.status = 'PAID'",
        "for row in SwishPayment.objects.all():\n    row.save()",
    ],
)
def test_the_checker_finds_each_kind_of_write(snippet):
    assert violations(snippet, PAYMENT) != []


@pytest.mark.parametrize(
    "snippet",
    [
        "order.status = OrderStatus.PAID",
        "delivery.status = DeliveryStatus.SENT",
        "SimulatedPayment.objects.filter(pk=1).update(status='PAID')",
        "payment.save(update_fields=['raw', 'checked_at', 'updated_at'])",
        "SwishPayment.objects.filter(pk=1).update(token=token)",
        "PAYMENT.save(payment, 'paid', ['settled_at'])",
        "payment.status == SwishStatus.PAID",
    ],
)
def test_the_checker_leaves_other_writes_alone(snippet):
    assert violations(snippet, PAYMENT) == []


def test_the_words_default_to_the_models_last_word():
    assert PAYMENT.names() == ("payment",)
    assert Owned("OutgoingMail", ("x.py",)).names() == ("mail",)
    assert Owned("X", ("x.py",), words=("thing",)).names() == ("thing",)
