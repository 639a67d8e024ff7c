"""Run axe-core (fetched from npm by `make qr-library`) on a page.

``serious_violations(page)`` injects axe-core into the page, runs it and
returns the serious and critical violations as short readable lines. Tests
skip when axe-core is not installed (no npm).
"""

from pathlib import Path

import pytest

AXE = (
    Path(__file__).resolve().parents[2]
    / "vendor"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


def require_axe():
    if not AXE.is_file():
        pytest.skip("axe-core is not installed (make qr-library needs npm)")


def serious_violations(page) -> list[str]:
    """Return '<rule>: <target> (<impact>)' for each serious or critical issue."""
    require_axe()
    page.wait_for_load_state()
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            resultTypes: ["violations"],
          });
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .flatMap((v) => v.nodes.map((n) =>
              `${v.id}: ${n.target.join(" ")} (${v.impact}) ${n.failureSummary}`));
        }"""
    )
    return results
