"""CI fails when tests vanish: a module that ran tests and runs none now."""

import importlib.util
import json
from pathlib import Path

import pytest

SKIPS = Path(__file__).resolve().parents[1] / ".ci" / "skips.py"


@pytest.fixture
def skips(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("ci_skips", SKIPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "EXPECTED_TESTS", tmp_path / "expected.json")
    return module


def report(tmp_path, cases):
    """A JUnit report with a passed case per (classname, name)."""
    body = "".join(
        f'<testcase classname="{cls}" name="{name}"/>' for cls, name in cases
    )
    path = tmp_path / "report.xml"
    path.write_text(
        f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>'
    )
    return str(path)


FULL = [
    ("tests.scanning.test_offline_sync", "test_a"),
    ("tests.scanning.test_offline_sync.TestSync", "test_b"),
    ("tests.test_docs", "test_c"),
] + [("tests.orders.test_lifecycle", f"test_{i}") for i in range(10)]


def test_a_module_that_drops_to_zero_fails_the_run(skips, tmp_path, capsys):
    skips.record(report(tmp_path, FULL), "sqlite")
    recorded = json.loads(skips.EXPECTED_TESTS.read_text())["sqlite"]
    assert recorded["tests/scanning/test_offline_sync.py"] == 2

    without_docs = [case for case in FULL if case[0] != "tests.test_docs"]
    assert skips.main(report(tmp_path, without_docs), "sqlite") == 1
    assert "tests/test_docs.py: 1 tests expected, none ran" in capsys.readouterr().out


def test_a_total_that_falls_by_more_than_a_handful_fails(skips, tmp_path):
    skips.record(report(tmp_path, FULL), "postgresql")
    fewer = FULL[:-6]  # six of the ten lifecycle tests gone, the module still runs
    assert skips.main(report(tmp_path, fewer), "postgresql") == 1
    assert skips.main(report(tmp_path, FULL[:-2]), "postgresql") == 0


def test_the_same_run_passes_and_new_modules_are_welcome(skips, tmp_path):
    skips.record(report(tmp_path, FULL), "sqlite")
    more = [*FULL, ("tests.new.test_thing", "test_x")]
    assert skips.main(report(tmp_path, more), "sqlite") == 0
    assert skips.main(report(tmp_path, more), "another-label") == 0


def test_the_summary_says_what_each_failure_said(skips, tmp_path, capsys):
    path = tmp_path / "report.xml"
    path.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.faults.test_many_servers" name="test_rush">'
        '<failure message="AssertionError: (Counter({&apos;paid&apos;: 99}), [])&#10;'
        'assert 99 == 100">traceback</failure></testcase>'
        '<testcase classname="tests.test_docs" name="test_c"/>'
        "</testsuite></testsuites>"
    )
    skips.main(str(path), "postgresql-faults")
    out = capsys.readouterr().out
    assert "2 tests, 1 failed or errored" in out
    assert (
        "  FAILED tests.faults.test_many_servers::test_rush: "
        "AssertionError: (Counter({'paid': 99}), []) assert 99 == 100"
    ) in out


@pytest.mark.parametrize(
    ("url", "runs"),
    [
        ("psql://ci@127.0.0.1:5432/ci", True),
        ("sqlite:///unused.sqlite3", False),
    ],
    ids=["psql", "sqlite"],
)
def test_the_fault_suite_runs_whenever_the_engine_is_postgresql(url, runs, tmp_path):
    """Selected by the database engine, not by how DATABASE_URL is spelled:
    a psql:// URL must not leave the fault suite out without a word."""
    import os
    import subprocess
    import sys

    root = SKIPS.parents[1]
    env = {**os.environ, "DATABASE_URL": url, "TICKETSHOP_VAR_DIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    listed = subprocess.run(  # noqa: S603 (our own test suite)
        [sys.executable, "-m", "pytest", "tests/faults", "--collect-only", "-q"]
        + ["-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    selected = [
        line for line in listed.stdout.splitlines() if line.startswith("tests/faults/")
    ]
    assert listed.returncode == (0 if runs else 5), listed.stdout + listed.stderr
    assert bool(selected) == runs, listed.stdout
    if runs:
        assert len(selected) >= 9, selected
