"""Accessibility checks in the browser journeys: axe-core (from the npm registry, `make axe`) injected with Playwright.

`check(page)` runs axe on the page as it is now — an open dialog included — and fails on any violation of serious or
critical impact. Minor and moderate ones are left to people: they are appended, one JSON line each, to the file
AXE_REPORT names, when it is set. Outside CI a missing axe-core skips the check with a warning; in CI it fails.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAIL_ON = {"serious", "critical"}

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


def check(page: Page, where: str = "") -> list[dict[str, object]]:
    """Run axe on the page; fail on serious or critical violations, and return them all."""
    if not AXE.exists():
        message = f"axe-core is not installed ({AXE}): run `make axe` (npm ci)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        warnings.warn("ACCESSIBILITY CHECK SKIPPED: " + message, stacklevel=2)
        return []
    # evaluate, not a <script> tag: the page's Content-Security-Policy rightly refuses inline scripts.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    violations: list[dict[str, object]] = page.evaluate(RUN)
    place = where or page.url
    if report := os.environ.get("AXE_REPORT"):
        with open(report, "a") as out:
            for v in violations:
                out.write(json.dumps({"where": place, **v}) + "\n")
    bad = [v for v in violations if v["impact"] in FAIL_ON]
    assert bad == [], (
        f"accessibility violations (serious or critical) on {place}: {json.dumps(bad, indent=1)}"
    )
    return violations
