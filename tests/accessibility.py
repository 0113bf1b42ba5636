"""WCAG 2.1 A/AA checks of a page in Chromium with axe-core (vendored in tests/vendor, never served by cti)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).resolve().parent / "vendor/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")


async def axe_violations(page: Page, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """The page's violations of WCAG 2.1 A and AA rules at ``impacts``, as axe reports them (id, impact, help,
    and the offending nodes' selectors). Injected through the DevTools protocol, which the pages' CSP allows."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a",
                                                                                "wcag21aa"]}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(" "))}));
        }""")
    return [v for v in result if v["impact"] in impacts]
