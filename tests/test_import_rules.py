"""The import rules: which part of the shop may import which.

Every module under src/ticketshop is parsed (with ``ast``, imports inside
functions included) and each import of another part of the shop is held
against the layers below. A module may import its own package, and any
part on a layer below its own; never one above, and never a sibling on its
own layer unless ``SIDEWAYS`` names the pair with its reason. The
presentation (views, admin, URLs, middleware, system checks, management
commands, the API's error mapping, settings) may import every layer, and
no layer may import it. docs/development.md shows the same table.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "ticketshop"

# Lowest first. A part is a package (or a module) directly under ticketshop.
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"errors", "formats"}),
    ("db", {"api", "db"}),
    (
        "core",
        {"statemachine", "audit", "money", "previews", "leases", "security"},
    ),
    ("events", {"events"}),
    ("orders", {"orders"}),
    ("release", {"release"}),
    ("books", {"books"}),
    ("delivery", {"delivery"}),
    ("payments", {"payments"}),
    ("surfaces", {"scanning", "shop", "backoffice", "swish_simulator"}),
    ("waitlist", {"waitlist"}),
    ("ops", {"ops"}),
]
# Modules that are presentation wherever they stand: they may import every
# layer, and no layer may import them.
PRESENTATION_FILES = {
    "admin.py",
    "admin_permissions.py",
    "apps.py",
    "checks.py",
    "middleware.py",
    "urls.py",
    "views.py",
}
PRESENTATION_MODULES = {
    f"{PACKAGE}.api_errors",
    f"{PACKAGE}.backoffice.order_actions",  # the Django admin's order actions
    f"{PACKAGE}.error_pages",
    f"{PACKAGE}.ops.requestid",  # the request id middleware
    f"{PACKAGE}.settings",
    f"{PACKAGE}.urls",
    f"{PACKAGE}.wsgi",
}
# Imports between two parts on one layer, each with its reason.
SIDEWAYS: dict[tuple[str, str], str] = {
    ("scanning", "backoffice"): (
        "a revocation's audit entry is the back office's AuditEntry"
    ),
}

LAYER_OF = {part: index for index, (_, parts) in enumerate(LAYERS) for part in parts}
LAYER_NAME = {index: name for index, (name, _) in enumerate(LAYERS)}


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    importer: str
    imported: str
    why: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.importer} imports {self.imported}: {self.why}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_presentation(module: str, path: Path | None = None) -> bool:
    parts = module.split(".")
    if module in PRESENTATION_MODULES or "management" in parts:
        return True
    filename = path.name if path is not None else f"{parts[-1]}.py"
    return filename in PRESENTATION_FILES or "templatetags" in parts


def part_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def imported_modules(tree: ast.AST, module: str, is_package: bool):
    """Yield (line, module) for every import of the tree, local ones too;
    ``from X import name`` yields ``X.name`` (a module or a name in X: both
    name the same part)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def check_source(
    text: str, *, module: str, path: str = "", is_package: bool = False
) -> list[Offence]:
    """The offences of one module's source against the import rules."""
    importer_part = part_of(module)
    if importer_part is None:
        return []
    importer_path = Path(path) if path else None
    presentation = is_presentation(module, importer_path)
    offences = []
    tree = ast.parse(text)
    for line, target in imported_modules(tree, module, is_package):
        imported_part = part_of(target)
        if imported_part is None:
            continue
        where = path or module
        if is_presentation(_module_of(target)):
            if not presentation:
                offences.append(
                    Offence(where, line, module, target, "presentation is imported")
                )
            continue
        if presentation or imported_part == importer_part:
            continue
        mine, theirs = LAYER_OF.get(importer_part), LAYER_OF.get(imported_part)
        if mine is None or theirs is None:
            offences.append(
                Offence(where, line, module, target, "a part on no layer (LAYERS)")
            )
        elif theirs > mine:
            offences.append(
                Offence(
                    where,
                    line,
                    module,
                    target,
                    f"{LAYER_NAME[mine]} reaches up into {LAYER_NAME[theirs]}",
                )
            )
        elif theirs == mine and (importer_part, imported_part) not in SIDEWAYS:
            offences.append(
                Offence(
                    where,
                    line,
                    module,
                    target,
                    f"sideways on layer {LAYER_NAME[mine]} (not in SIDEWAYS)",
                )
            )
    return offences


def _module_of(target: str) -> str:
    """The module that an imported name lives in, as far as the files say."""
    parts = target.split(".")
    while parts:
        candidate = SRC.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or candidate.is_dir():
            return ".".join(parts)
        parts.pop()
    return target


def source_files() -> list[Path]:
    return sorted(
        p for p in (SRC / PACKAGE).rglob("*.py") if "migrations" not in p.parts
    )


def all_offences() -> list[Offence]:
    found = []
    for path in source_files():
        found += check_source(
            path.read_text(),
            module=module_name(path),
            path=str(path.relative_to(ROOT)),
            is_package=path.name == "__init__.py",
        )
    return found


def test_every_module_keeps_the_import_rules():
    offences = all_offences()
    assert not offences, "\n".join(str(o) for o in offences)


def test_every_part_of_the_shop_stands_on_a_layer():
    parts = {
        p.stem if p.is_file() else p.name
        for p in (SRC / PACKAGE).iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and p.stem != "__init__")
    }
    presentation = {m.split(".")[1] for m in PRESENTATION_MODULES}
    presentation |= {f.removesuffix(".py") for f in PRESENTATION_FILES}
    assert parts - presentation - set(LAYER_OF) == set()


def test_every_sideways_pair_is_still_used():
    used = set()
    for path in source_files():
        module = module_name(path)
        if is_presentation(module, path):
            continue
        tree = ast.parse(path.read_text())
        for _line, target in imported_modules(tree, module, path.name == "__init__.py"):
            used.add((part_of(module), part_of(target)))
    assert set(SIDEWAYS) - used == set()


# --- The check itself fails where it should ----------------------------------


def test_the_check_finds_a_layer_reaching_up_even_inside_a_function():
    snippet = (
        "from ticketshop.db import sql\n"
        "\n"
        "def lock():\n"
        "    from ticketshop.orders.models import SeatCounter\n"
        "    return SeatCounter\n"
    )
    (offence,) = check_source(
        snippet, module="ticketshop.db.locks", path="src/ticketshop/db/locks.py"
    )
    assert offence.line == 4
    assert offence.imported == "ticketshop.orders.models.SeatCounter"
    assert str(offence).startswith("src/ticketshop/db/locks.py:4: ")
    assert "db reaches up into orders" in str(offence)


def test_the_check_finds_relative_and_sideways_imports():
    up = check_source(
        "from ..ops.leases import run_once_per\n", module="ticketshop.payments.tasks"
    )
    assert [o.why for o in up] == ["payments reaches up into ops"]
    sideways = check_source(
        "import ticketshop.backoffice.services\n", module="ticketshop.shop.selectors"
    )
    assert [o.why for o in sideways] == ["sideways on layer surfaces (not in SIDEWAYS)"]


def test_the_check_finds_a_service_importing_the_presentation():
    (offence,) = check_source(
        "from ticketshop.orders.views import ReserveTicketView\n",
        module="ticketshop.orders.services",
    )
    assert offence.why == "presentation is imported"


def test_the_check_lets_the_presentation_and_lower_layers_through():
    assert not check_source(
        "from ticketshop.payments.services import start_payment\n"
        "from ticketshop.backoffice.models import AuditEntry\n",
        module="ticketshop.orders.views",
    )
    assert not check_source(
        "from ticketshop.db.locks import run_locked\n"
        "from ticketshop.events.models import ChapterEvent\n"
        "from . import lifecycle\n",
        module="ticketshop.orders.services",
    )
