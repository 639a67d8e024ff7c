#!/usr/bin/env python3
"""Summarise the skipped tests of a `make test` run from its JUnit XML report.

Usage: .ci/skips.py REPORT.xml LABEL

Prints how many tests ran, failed and were skipped, lists every skip with its
reason, and exits 1 when any skip is unexpected. The only expected skips are
the tests against Swish's own test server (MSS), which need the merchant test
certificate that CI does not have. Tests that apply to one database only are
not skipped on the other: tests/conftest.py leaves them out of the run
(deselected), so they never count here.
"""

import sys
import xml.etree.ElementTree as ET

# (reason as pytest reports it, why it is fine to skip in CI)
EXPECTED_SKIPS = {
    "SWISH_LIVE_CERT / SWISH_LIVE_KEY not set": (
        "Swish MSS live tests need the merchant test certificate"
    ),
}


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
    for name, reason in expected:
        print(f"  expected skip: {name}: {reason}")
    for name, reason in unexpected:
        print(f"  UNEXPECTED skip: {name}: {reason}")
    if unexpected:
        print(f"FAIL: {len(unexpected)} unexpected skips ({label})")
        return 1
    print(f"0 unexpected skips ({label})")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
