"""Every shell command the docs show either runs here or resolves.

The rule (docs/development.md → "Commands in the docs"): each simple
command in a ```sh, ```bash, ```shell or ```console block of README.md,
docs/*.md and bench/README.md is checked by what it starts with:

- ``make [VAR=value …] TARGET …``: runs as a dry run (``make -n``), so every
  target exists in the Makefile and the Makefile reads;
- ``[.venv/bin/]python[3] manage.py COMMAND ARGS``: the command exists and
  its own parser accepts the arguments (what ``--help`` lists);
- ``.venv/bin/python -c CODE``: runs (it must exit 0 within 60 s);
  ``… -m MODULE``: the module is importable;
- ``.venv/bin/python SCRIPT.py ARGS`` (a script of the repository, e.g.
  bench/): the script exists; if the command passes ``--options``, the
  script's ``--help`` runs and names each of them;
- ``.venv/bin/TOOL``: the tool is installed in the virtualenv; for pytest,
  every path exists and every ``-m`` marker is declared;
- ``deploy/x.sh`` and other paths into the repository: the file exists and
  is executable;
- ``curl URL``: the URL's path is one the shop serves (it resolves in the
  URLconf);
- ``systemctl … ticketshop-…``: the unit is in deploy/systemd/;
- ``docker compose …``: each service named is in compose.yaml, and the
  command run in it is checked like the rest;
- ``sudo [-u USER]`` is looked through;
- anything else must be a shell builtin or a system tool named in
  ``SYSTEM_TOOLS`` (the tools the docs ask an operator to have).

In every command, an argument that is a relative path into the repository
(its first part is a top-level file or folder of the repository) must exist.
``$ROOT`` is the repository; ``…`` and ``...`` stand for elided arguments.
"""

import functools
import glob
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "bench" / "README.md",
]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```", re.S | re.M)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPERATORS = {";", "&", "&&", "|", "||", "(", ")", "$(", "`"}
REDIRECTS = re.compile(r"^[0-9]*(<|>|>>|<<|>&|<&|&>)$")
ELIDED = {"...", "…"}

BUILTINS = {"cd", "set", ".", "source", "export", "echo", "exit", "true", "false"}
# Tools of the machine the docs ask for (installed by the operator, or part
# of any Debian): not in the repository, so only their names are checked.
SYSTEM_TOOLS = {
    "apt-get",
    "caddy",
    "cp",
    "createdb",
    "createuser",
    "curl",
    "docker",
    "editor",
    "git",
    "install",
    "mkdir",
    "npm",
    "pg_dump",
    "pg_restore",
    "psql",
    "python3",
    "redis-cli",
    "sleep",
    "sudo",
    "systemctl",
    "tr",
    "useradd",
    "wrk",
}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    body: str


def blocks(text: str, page: str = "<page>") -> list[Block]:
    """The shell code blocks of a Markdown page."""
    found = []
    for match in FENCE.finditer(text):
        if match["lang"] in SHELL_LANGUAGES:
            line = text.count("\n", 0, match.start()) + 2
            found.append(Block(page, line, match["lang"], match["body"]))
    return found


def command_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, text) of each command line, continuations joined."""
    lines = block.body.split("\n")
    if block.lang == "console":
        # Only what follows the prompt is a command; the rest is output.
        kept, going_on = [], False
        for line in lines:
            if line.startswith("$ ") or going_on:
                kept.append(line[2:] if line.startswith("$ ") else line)
                going_on = line.rstrip().endswith("\\")
            else:
                kept.append("")
        lines = kept
    joined, start, current = [], None, ""
    for number, line in enumerate(lines, block.line):
        if start is None:
            start = number
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            joined.append((start, current))
        start, current = None, ""
    if current.strip():
        joined.append((start, current))
    return joined


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of one command line, as lists of words.

    ``$(…)`` opens a command of its own; redirections and their targets are
    dropped; comments are dropped.
    """
    line = line.replace("$(", " $( ")
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, words, skip_next = [], [], False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token in OPERATORS or token == "$":
            if words:
                commands.append(words)
            words = []
            continue
        if REDIRECTS.match(token) or (token and set(token) <= set("<>&")):
            skip_next = True
            continue
        words.append(token)
    if words:
        commands.append(words)
    # "TOKEN=$(curl …)" leaves "TOKEN=" alone: an assignment, not a command.
    return [c for c in commands if not all(ASSIGNMENT.match(w) for w in c)]


class Checker:
    """Checks commands; ``problems`` collects what does not resolve."""

    def __init__(self, root: Path = ROOT, run: bool = True) -> None:
        self.root = root
        self.run = run
        self.problems: list[str] = []

    # --- helpers ------------------------------------------------------------
    def fail(self, where: str, words: list[str], why: str) -> None:
        self.problems.append(f"{where}: `{shlex.join(words)}`: {why}")

    def repo_path(self, word: str) -> Path | None:
        """The repository path an argument names, if it names one."""
        word = word.replace("$ROOT/", "").replace("${ROOT}/", "")
        if not word or word.startswith(("/", "-", "~", "$")) or "://" in word:
            return None
        first = word.split("/", 1)[0]
        if first in {"", ".", ".."} or "=" in first:
            return None
        if not (self.root / first).exists() and not (
            first == ".venv" or first in _tracked_top_level(self.root)
        ):
            return None
        return self.root / word

    def check_paths(self, where, words, args) -> None:
        for word in args:
            if word in ELIDED:
                continue
            value = word.split("=", 1)[1] if ASSIGNMENT.match(word) else word
            path = self.repo_path(value)
            if path is None or "$" in value:
                continue
            if not glob.glob(str(path)) and not path.exists():
                self.fail(where, words, f"{value} does not exist in the repository")

    # --- the rule -----------------------------------------------------------
    def check(self, where: str, words: list[str]) -> None:
        args = [w for w in words if w not in ELIDED]
        while args and ASSIGNMENT.match(args[0]):
            self.check_paths(where, words, [args.pop(0)])
        if not args:
            return
        program, rest = args[0], args[1:]
        name = program.replace("$ROOT/", "").replace("${ROOT}/", "")
        if name == "sudo":
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in {"-u", "-g"} else rest[1:]
            return self.check(where, rest)
        if name == "make":
            return self.check_make(where, words, rest)
        if name in {"python", "python3"} or name.endswith("/bin/python"):
            if name.endswith("/bin/python") and not self.venv_tool(name):
                return self.fail(where, words, f"{name} is not in the virtualenv")
            return self.check_python(where, words, rest)
        if name == "manage.py":
            return self.check_manage(where, words, rest)
        if name.startswith(".venv/bin/"):
            if not self.venv_tool(name):
                return self.fail(where, words, f"{name} is not in the virtualenv")
            if name.endswith(("/pytest", "/py.test")):
                return self.check_pytest(where, words, rest)
            return self.check_paths(where, words, rest)
        if name == "curl":
            return self.check_curl(where, words, rest)
        if name == "systemctl":
            return self.check_systemctl(where, words, rest)
        if name == "docker":
            return self.check_docker(where, words, rest)
        if "/" in name:
            path = self.repo_path(name)
            if path is None:
                return self.fail(
                    where, words, f"{name} is not a path of the repository"
                )
            if not path.is_file():
                return self.fail(
                    where, words, f"{name} does not exist in the repository"
                )
            if not os.access(path, os.X_OK):
                return self.fail(where, words, f"{name} is not executable")
            return self.check_paths(where, words, rest)
        if name in BUILTINS or name in SYSTEM_TOOLS:
            return self.check_paths(where, words, rest)
        self.fail(
            where,
            words,
            f"unknown command {name!r} (not a builtin, a path of"
            " the repository or a system tool in SYSTEM_TOOLS)",
        )

    def venv_tool(self, name: str) -> bool:
        return (Path(sys.executable).parent / name.rsplit("/", 1)[-1]).exists()

    def check_make(self, where, words, rest) -> None:
        targets, elsewhere, args = [], False, iter(rest)
        for word in args:
            if word in {"-C", "-f", "-I", "-o", "-W", "-j"}:
                # -C DIR: the same Makefile in another checkout (not run)
                elsewhere |= word in {"-C", "-f"}
                next(args, None)
            elif not word.startswith("-") and not ASSIGNMENT.match(word):
                targets.append(word)
        known = _make_targets(self.root)
        for target in targets:
            if target not in known:
                self.fail(where, words, f"make has no target {target!r}")
        if self.run and not elsewhere and all(t in known for t in targets):
            result = subprocess.run(
                ["make", "-n", "-C", str(self.root), *rest],
                capture_output=True,
                text=True,
                timeout=60,
                env=_MAKE_ENV,
            )
            if result.returncode != 0:
                self.fail(
                    where, words, f"make -n fails: {result.stderr.strip()[-300:]}"
                )

    def check_python(self, where, words, rest) -> None:
        options = list(rest)
        while options and options[0].startswith("-") and options[0] not in {"-c", "-m"}:
            options.pop(0)
        if not options:
            return
        if options[0] == "-m":
            if len(options) < 2 or importlib.util.find_spec(options[1]) is None:
                return self.fail(where, words, "no such module to run with -m")
            return self.check_paths(where, words, options[2:])
        if options[0] == "-c":
            if self.run and len(options) > 1:
                result = subprocess.run(
                    [sys.executable, "-c", options[1]],
                    cwd=self.root,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                if result.returncode != 0:
                    self.fail(where, words, f"fails: {result.stderr.strip()[-300:]}")
            return
        script, args = options[0], options[1:]
        if script == "manage.py":
            return self.check_manage(where, words, args)
        path = self.repo_path(script)
        if path is None or not path.is_file():
            return self.fail(where, words, f"no script {script} in the repository")
        self.check_paths(where, words, args)
        if self.run and any(arg.startswith("--") for arg in args):
            self.check_help(where, words, path, args)

    def check_help(self, where, words, script: Path, args) -> None:
        helptext = _script_help(script)
        if helptext is None:
            return self.fail(where, words, f"{script.name} --help fails")
        for arg in args:
            option = arg.split("=", 1)[0]
            if option.startswith("--") and option not in helptext:
                self.fail(where, words, f"{script.name} --help names no {option}")

    def check_manage(self, where, words, rest) -> None:
        from django.core.management import get_commands, load_command_class
        from django.core.management.base import CommandError

        if not rest:
            return self.fail(where, words, "manage.py without a command")
        name, args = rest[0], rest[1:]
        app = get_commands().get(name)
        if app is None:
            return self.fail(where, words, f"manage.py has no command {name!r}")
        command = app if not isinstance(app, str) else load_command_class(app, name)
        parser = command.create_parser("manage.py", name)
        try:
            parser.parse_args(args)
        except (CommandError, SystemExit) as error:
            if not (isinstance(error, SystemExit) and error.code == 0):
                self.fail(
                    where, words, f"manage.py {name} refuses the arguments: {error}"
                )
        self.check_paths(where, words, args)

    def check_pytest(self, where, words, rest) -> None:
        markers = _pytest_markers(self.root)
        args = iter(rest)
        for arg in args:
            if arg == "-m":
                expression = next(args, "")
                for marker in re.findall(r"[A-Za-z_]\w*", expression):
                    if marker not in {"and", "or", "not"} and marker not in markers:
                        self.fail(where, words, f"pytest has no marker {marker!r}")
            elif not arg.startswith("-"):
                path = self.root / arg.split("::", 1)[0]
                if not path.exists():
                    self.fail(where, words, f"{arg} does not exist")

    def check_curl(self, where, words, rest) -> None:
        from django.urls import Resolver404, resolve

        for arg in rest:
            if not re.match(r"^https?://", arg):
                continue
            path = urlsplit(arg.replace("$", "")).path or "/"
            try:
                resolve(path)
            except Resolver404:
                self.fail(where, words, f"the shop serves no {path}")

    def check_systemctl(self, where, words, rest) -> None:
        units = {p.name for p in (self.root / "deploy" / "systemd").glob("*")}
        for arg in rest:
            if not arg.startswith("ticketshop-"):
                continue
            unit = arg if "." in arg else f"{arg}.service"
            unit = re.sub(r"@[^.]+\.", "@.", unit)
            if unit not in units:
                self.fail(where, words, f"deploy/systemd/ has no unit {unit}")

    def check_docker(self, where, words, rest) -> None:
        if rest[:1] != ["compose"]:
            return
        services = _compose_services(self.root)
        rest = rest[1:]
        if not rest:
            return
        action, rest = rest[0], rest[1:]
        if action in {"exec", "run"}:
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in {"-e", "-u", "-w", "--user"} else rest[1:]
            if not rest:
                return self.fail(where, words, "no service named")
            if rest[0] not in services:
                return self.fail(
                    where, words, f"compose.yaml has no service {rest[0]!r}"
                )
            return self.check(where, rest[1:])
        for arg in rest:
            if arg.startswith("-"):
                continue
            service = arg.split("=", 1)[0]
            if service not in services:
                self.fail(where, words, f"compose.yaml has no service {service!r}")


# A make started by `make test` passes its flags down; these runs want none.
_MAKE_ENV = {
    k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
}


@functools.cache
def _tracked_top_level(root: Path) -> frozenset[str]:
    return frozenset(p.name for p in root.iterdir())


@functools.cache
def _make_targets(root: Path) -> frozenset[str]:
    """The Makefile's targets, as make itself reads them."""
    result = subprocess.run(
        ["make", "-pRrq", "-C", str(root), ":"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_MAKE_ENV,
    )
    targets = set()
    for line in result.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9.][^$#\t=:]*):([^=]|$)", line)
        if match:
            targets.update(
                t for t in match.group(1).split() if not re.match(r"^\.[A-Z_]+$", t)
            )
    return frozenset(targets)


@functools.cache
def _pytest_markers(root: Path) -> frozenset[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text())
    declared = config["tool"]["pytest"]["ini_options"].get("markers", [])
    builtin = {"skip", "skipif", "xfail", "parametrize", "usefixtures", "django_db"}
    return frozenset({m.split(":", 1)[0].strip() for m in declared} | builtin)


@functools.cache
def _compose_services(root: Path) -> frozenset[str]:
    import yaml

    compose = yaml.safe_load((root / "compose.yaml").read_text())
    return frozenset(compose.get("services", {}))


@functools.cache
def _script_help(script: Path) -> str | None:
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=script.parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return result.stdout if result.returncode == 0 else None


def problems(text: str, page: str = "<page>", *, root: Path = ROOT, run: bool = True):
    """What does not resolve among the shell commands of a Markdown page."""
    checker = Checker(root, run=run)
    for block in blocks(text, page):
        for number, line in command_lines(block):
            for words in simple_commands(line):
                checker.check(f"{page}:{number}", words)
    return checker.problems
