"""The docs' transition tables, rendered from the state machines' code.

A page holds a machine's table between two markers::

    <!-- table:ticket_delivery -->
    ...the table, rewritten by `manage.py render_docs`...
    <!-- /table -->

``render(text)`` rewrites every such table from its machine's ``describe()``
(the order's is ``lifecycle.describe_transitions()``); a test fails when a
page differs from what ``render`` makes of it. Machines are found in
``MACHINES`` once their modules are imported: every installed app's
``machines`` module is (Django's ``autodiscover_modules``), so an app's
machine lives in, or is imported by, its ``machines.py``.
"""

import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from .machine import MACHINES

MARKER = re.compile(
    r"(?P<open><!-- table:(?P<name>[\w-]+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /table -->)",
    re.S,
)


class UnknownTable(KeyError):
    """A marker names no state machine."""


def tables() -> dict[str, Callable[[], str]]:
    """Each machine's name and the function that renders its table."""
    autodiscover_modules("machines")
    # The order's too (orders/machines.py names lifecycle.ORDER), whose
    # describe() is the table docs/orders.md shows (tests/orders compares).
    return {name: machine.describe for name, machine in MACHINES.items()}


def markers(text: str) -> list[str]:
    """The machines whose tables a page holds, in order."""
    return [match["name"] for match in MARKER.finditer(text)]


def render(text: str) -> str:
    """The page with every marked table rewritten from its machine."""
    known = tables()

    def table(match: re.Match) -> str:
        name = match["name"]
        if name not in known:
            raise UnknownTable(
                f"<!-- table:{name} --> names no state machine (known:"
                f" {', '.join(sorted(known))}); is its module imported by its"
                " app's machines.py?"
            )
        return f"{match['open']}\n{known[name]()}\n\n{match['close']}"

    return MARKER.sub(table, text)


def pages(root: Path | None = None) -> list[Path]:
    """The pages that may hold tables: README.md and docs/*.md."""
    root = root or Path(settings.BASE_DIR)
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]
