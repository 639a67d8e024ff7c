"""A static check that only a state machine's owner module writes its records' state.

``violations(source, model, field="status", name=...)`` lists the lines of a
module's ``source`` that write ``model``'s ``field`` or create a ``model``
record (creating is a transition too: from nothing to the first state):

- ``x.status = …`` / ``x.status += …`` / ``setattr(x, "status", …)``;
- ``….update(status=…)``, ``….update_or_create(…status…)``,
  ``….get_or_create(…)``, ``….create(…)``, ``….bulk_create(…)``,
  ``….bulk_update(…, ["status"])``, ``….save(update_fields=[…"status"…])``;
- ``Model(…)``.

Python has no types to read here, so "names a ``model`` record" means: the
expression starts from the model's class (``TicketDelivery.objects…``), or
from a variable bound from such an expression in the same module
(``row = TicketDelivery.objects.get(…)``, ``for row in …``), or one of its
names is a word of the model's (``delivery``, ``deliveries``,
``order.ticket_delivery``, ``mailing.mails`` for ``OutgoingMail``: the last
word of the class name and the class name in snake case). An expression that
starts from another model's class (``Order.objects…``) is that model's.

Self-contained on purpose: tests in several packages use it, and
tests/test_state_owners.py may fold them into one table.
"""

import ast
import re

__all__ = ["violations", "model_words"]

_CREATES = {"create", "get_or_create", "update_or_create", "bulk_create"}


def model_words(model: str) -> set[str]:
    """The words that name a ``model`` record: ``TicketDelivery`` →
    {"ticket_delivery", "delivery"}."""
    parts = re.findall(r"[A-Z][a-z0-9]*", model) or [model]
    snake = "_".join(p.lower() for p in parts)
    return {snake, parts[-1].lower()}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _names_word(identifier: str, words: set[str]) -> bool:
    identifier = _singular(identifier.lower())
    return identifier in words or identifier.rsplit("_", 1)[-1] in words


def _chain(node: ast.AST) -> list[ast.AST]:
    """The chain of an expression, outermost first: ``a.b(c).d`` → [a.b(c).d,
    a.b(c), a.b, a]."""
    chain = [node]
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
        chain.append(node)
    return chain


def _root(node: ast.AST) -> str:
    last = _chain(node)[-1]
    return last.id if isinstance(last, ast.Name) else ""


class _Finder:
    def __init__(self, model: str, field: str, words: set[str], name: str):
        self.model, self.field, self.words, self.name = model, field, words, name
        self.bound: set[str] = set()
        self.found: list[str] = []

    # --- does an expression name a record of the model? ------------------
    def names_model(self, node: ast.AST) -> bool:
        root = _root(node)
        if root == self.model or root in self.bound:
            return True
        if root[:1].isupper():
            return False  # another model's class
        for link in _chain(node):
            if isinstance(link, ast.Attribute) and _names_word(link.attr, self.words):
                return True
            if isinstance(link, ast.Name) and _names_word(link.id, self.words):
                return True
        return False

    def bind(self, tree: ast.AST) -> None:
        """Variables bound from the model's class, anywhere in the module."""
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(t, node.value) for t in node.targets]
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value:
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.For | ast.comprehension):
                pairs = [(node.target, node.iter)]
            for target, value in pairs:
                if _root(value) != self.model and not (
                    isinstance(value, ast.ListComp | ast.GeneratorExp)
                    and _root(value.elt) == self.model
                ):
                    continue
                if isinstance(target, ast.Tuple | ast.List) and target.elts:
                    target = target.elts[0]  # obj, created = …get_or_create()
                if isinstance(target, ast.Name):
                    self.bound.add(target.id)

    # --- the writes -------------------------------------------------------
    def report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.name}:{node.lineno}: {what}")

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for one in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if (
                        isinstance(one, ast.Attribute)
                        and one.attr == self.field
                        and self.names_model(one.value)
                    ):
                        self.report(node, f"assigns {ast.unparse(one)}")
        if isinstance(node, ast.Call):
            self.call(node)

    def call(self, node: ast.Call) -> None:
        func = node.func
        keys = {k.arg for k in node.keywords}
        if isinstance(func, ast.Name):
            if func.id == self.model:
                self.report(node, f"creates with {self.model}(…)")
            elif (
                func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == self.field
                and self.names_model(node.args[0])
            ):
                self.report(node, f"setattr(…, {self.field!r})")
            return
        if not isinstance(func, ast.Attribute) or not self.names_model(func.value):
            return
        text = ast.unparse(func)
        if func.attr in _CREATES:
            self.report(node, f"creates with {text}(…)")
        elif func.attr == "update" and (self.field in keys or None in keys):
            self.report(node, f"{text}({self.field}=…)")
        elif func.attr in {"bulk_update", "save"} and self._names_field(node):
            self.report(node, f"{text}(… {self.field!r} …)")

    def _names_field(self, node: ast.Call) -> bool:
        values = [*node.args[1:], *(k.value for k in node.keywords)]
        for value in values:
            for leaf in ast.walk(value):
                if isinstance(leaf, ast.Constant) and leaf.value == self.field:
                    return True
        return False


def violations(
    source: str,
    model: str,
    field: str = "status",
    name: str = "<snippet>",
    words: set[str] | None = None,
) -> list[str]:
    """The lines of ``source`` that write ``model``'s ``field`` or create one."""
    tree = ast.parse(source)
    finder = _Finder(model, field, words or model_words(model), name)
    finder.bind(tree)
    for node in ast.walk(tree):
        finder.visit(node)
    return sorted(set(finder.found), key=lambda line: int(line.rsplit(":", 2)[-2]))
