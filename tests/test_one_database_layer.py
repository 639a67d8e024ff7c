"""Hand-written SQL is built in one place (ticketshop.db.sql), and locking
lives in one place (ticketshop.db.locks)."""

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ticketshop"
DB = SRC / "db"

# Quoting names by hand, parsing the ORM's SQL, or locking on the side.
FORBIDDEN = {
    "quotes names itself": re.compile(r"\bquote_name\b"),
    "reads the ORM's SQL": re.compile(r"sql_with_params\(|str\(\w+\.query\)"),
    "locks files itself": re.compile(r"fcntl\.flock"),
}


def offences(text: str) -> list[str]:
    return [what for what, pattern in FORBIDDEN.items() if pattern.search(text)]


def test_no_module_outside_the_database_layer_builds_sql_or_locks_by_itself():
    found = {}
    for path in SRC.rglob("*.py"):
        if DB in path.parents or "migrations" in path.parts:
            continue
        if offences(path.read_text()):
            found[str(path.relative_to(SRC))] = offences(path.read_text())
    assert found == {}


def test_the_check_finds_what_the_old_code_did():
    assert offences("qn = connection.ops.quote_name") == ["quotes names itself"]
    assert offences("sql, params = qs.query.sql_with_params()") == [
        "reads the ORM's SQL"
    ]
    assert offences("fcntl.flock(fd, fcntl.LOCK_EX)") == ["locks files itself"]
