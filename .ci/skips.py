#!/usr/bin/env python3
"""Summarise the skipped tests of a `make test` run from its JUnit XML report.

Usage: .ci/skips.py REPORT.xml LABEL
       .ci/skips.py --record REPORT.xml LABEL   (rewrite LABEL's expectation)

Prints how many tests ran, failed and were skipped, lists every skip with its
reason, and exits 1 when any skip is unexpected. It also counts the tests run
per module and holds them against .ci/expected-tests.json: a module that ran
tests when the expectation was recorded and runs none now (a misapplied
marker, a collection that stopped finding it), or a total that falls by more
than a handful, fails the run with the names. The only expected skips are
the tests against Swish's own test server (MSS), which need the merchant test
certificate that CI does not have. Tests that apply to one database only are
not skipped on the other: tests/conftest.py leaves them out of the run
(deselected), so they never count here.
"""

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

EXPECTED_TESTS = Path(__file__).with_name("expected-tests.json")
# A run may lose this many tests against the expectation before it fails
# (a parametrised case merged into another); a module may never drop to 0.
TOTAL_SLACK = 5

# (reason as pytest reports it, why it is fine to skip in CI)
EXPECTED_SKIPS = {
    "SWISH_LIVE_CERT / SWISH_LIVE_KEY not set": (
        "Swish MSS live tests need the merchant test certificate"
    ),
}


def module_of(case: ET.Element) -> str:
    """tests/x/test_y.py for a case whose classname is tests.x.test_y[.Class]."""
    parts = case.get("classname", "").split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return "/".join(parts[: i + 1]) + ".py"
    return "/".join(parts)


def ran_per_module(cases: list[ET.Element]) -> Counter:
    return Counter(module_of(case) for case in cases if case.find("skipped") is None)


def check_counts(ran: Counter, label: str) -> list[str]:
    """What vanished against the recorded expectation, one line each."""
    recorded = json.loads(EXPECTED_TESTS.read_text()) if EXPECTED_TESTS.exists() else {}
    expected = recorded.get(label, {})
    problems = [
        f"{module}: {count} tests expected, none ran"
        for module, count in sorted(expected.items())
        if count and not ran.get(module)
    ]
    total, floor = sum(ran.values()), sum(expected.values()) - TOTAL_SLACK
    if total < floor:
        problems.append(
            f"{total} tests ran, {sum(expected.values())} expected"
            f" (at most {TOTAL_SLACK} fewer allowed)"
        )
    return problems


def record(report: str, label: str) -> int:
    cases = list(ET.parse(report).getroot().iter("testcase"))  # noqa: S314
    data = json.loads(EXPECTED_TESTS.read_text()) if EXPECTED_TESTS.exists() else {}
    data[label] = dict(sorted(ran_per_module(cases).items()))
    EXPECTED_TESTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {sum(data[label].values())} tests for {label}")
    return 0


def main(report: str, label: str) -> int:
    root = ET.parse(report).getroot()  # noqa: S314 (our own pytest's report)
    cases = list(root.iter("testcase"))
    failed = [
        c for c in cases if c.find("failure") is not None or c.find("error") is not None
    ]
    expected, unexpected = [], []
    for case in cases:
        skipped = case.find("skipped")
        if skipped is None:
            continue
        reason = skipped.get("message", "").removeprefix("Skipped: ")
        name = f"{case.get('classname')}::{case.get('name')}"
        (expected if reason in EXPECTED_SKIPS else unexpected).append((name, reason))

    print(f"== skip summary ({label}) ==")
    print(
        f"{len(cases)} tests, {len(failed)} failed or errored, "
        f"{len(expected) + len(unexpected)} skipped"
    )
    # What each failure said, short: the lanes' own output is long, and the
    # summaries are what a reader of CI's log sees first.
    for case in failed:
        what = case.find("failure")
        if what is None:
            what = case.find("error")
        message = " ".join((what.get("message") or what.text or "").split())
        name = f"{case.get('classname')}::{case.get('name')}"
        print(f"  FAILED {name}: {message[:1500]}")
    for name, reason in expected:
        print(f"  expected skip: {name}: {reason}")
    for name, reason in unexpected:
        print(f"  UNEXPECTED skip: {name}: {reason}")
    ran = ran_per_module(cases)
    print(f"== tests run per module ({label}) ==")
    for module, count in sorted(ran.items()):
        print(f"  {count:4d}  {module}")
    vanished = check_counts(ran, label)
    for line in vanished:
        print(f"  VANISHED: {line}")
    status = 0
    if vanished:
        print(f"FAIL: tests vanished against .ci/expected-tests.json ({label})")
        status = 1
    if unexpected:
        print(f"FAIL: {len(unexpected)} unexpected skips ({label})")
        return 1
    print(f"0 unexpected skips ({label})")
    return status


if __name__ == "__main__":
    if sys.argv[1] == "--record":
        sys.exit(record(*sys.argv[2:4]))
    sys.exit(main(*sys.argv[1:3]))
