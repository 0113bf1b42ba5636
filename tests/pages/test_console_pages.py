"""Every page of the staff console, in both languages, as the role it is for: no serious or critical WCAG 2.1 A/AA
violation (axe-core in Chromium), in Indonesian no text left from the English catalogues, no token on the page,
and a screenshot of each kept for review (under ``$CTI_TEST_ARTIFACTS``, default ``var/test-artifacts``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.accessibility import axe_violations
from tests.fullapp import Cti
from tests.support import browser_page

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "cti/web/static"
SCREENS = Path(os.environ.get("CTI_TEST_ARTIFACTS", REPO / "var/test-artifacts")) / "screens"
PAGES = [("index", "admin"), ("users", "admin"), ("routing", "admin"), ("settings", "admin"), ("desktop", "agent"),
         ("dashboard", "supervisor"), ("reports", "supervisor"), ("wfm", "supervisor"), ("scripts", "supervisor"),
         ("callbacks", "supervisor"), ("faq", "supervisor"), ("labels", "supervisor")]
"""Each page and the role it is opened as (the sign-in page is opened by nobody)."""
SIZES = {"laptop": (1280, 720), "tablet": (768, 1024)}
"""The screens the console must be usable on: the page is never wider than the window (a wide table scrolls in
its own box, the page does not scroll sideways); the elements that stick out are named when it is."""


def catalogue(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((STATIC / "i18n" / language).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def english_only() -> list[str]:
    """Texts of the English catalogues that the Indonesian ones say differently: none may show in Indonesian.
    Placeholders cut them into their fixed parts; short parts (a unit, a letter) are left out as ambiguous."""
    english, indonesian = catalogue("en"), catalogue("id")
    texts: set[str] = set()
    for key, text in english.items():
        if indonesian.get(key) == text:
            continue
        for part in text.replace("{", "}").split("}")[::2]:
            part = part.strip(" :-.,()\u2013\u2014")  # spaces, punctuation, en and em dashes
            if len(part) >= 8 and part not in " ".join(indonesian.values()):
                texts.add(part)
    return sorted(texts)


async def check(page: Page, name: str, language: str, secrets: list[str]) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{name} ({language}): {json.dumps(violations, indent=1)}"
    text = await page.inner_text("body")
    assert not any(secret in text for secret in secrets), f"{name} shows a token or a password"
    if language == "id":
        leftovers = [t for t in english_only() if t in text]
        assert leftovers == [], f"{name} in Indonesian still says: {leftovers}"
    SCREENS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENS / f"{name}-{language}.png"), full_page=True)
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        overflow = await page.evaluate("""() => [document.documentElement.scrollWidth - innerWidth,
            [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
            .slice(0, 5).map((e) => e.tagName + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : ""))]""")
        assert overflow[0] <= 0, f"{name} ({language}) is wider than a {size} ({width}px): {overflow}"
        await page.screenshot(path=str(SCREENS / f"{name}-{language}-{size}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 720})


@pytest.mark.parametrize("language", ["id", "en"])
async def test_every_page_is_accessible_and_in_the_user_s_language(cti: Cti, language: str) -> None:
    tokens = {"admin": cti.settings.admin_token.get_secret_value(),
              "agent": await cti.create_agent("ana", "Ana Wijaya", skills={"care": 1})}
    created = await cti.api("POST", "/api/users", expect=201, json={"name": "sri", "role": "supervisor"})
    tokens["supervisor"] = created["token"]
    for token in tokens.values():
        await cti.api("PATCH", "/api/me", token=token, json={"language": language})
    # The settings page shows the settings in force: none of their secrets either (the session's Redis has a
    # password in its URL, the ARI password, a softphone's password).
    secrets = [*tokens.values(), cti.settings.ari_password.get_secret_value(), "softphone-secret-1",
               urlsplit(cti.settings.redis_url).password or "no Redis password?"]
    async with browser_page(locale="id-ID" if language == "id" else "en-US", timezone_id="UTC") as page:
        await page.goto(str(cti.client.make_url(f"/ui/signin.html?lang={language}")))
        await expect(page.locator("#signin-form")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", language)
        await check(page, "signin", language, secrets)
        # A refusal from the server is said in the page's language, from its code (never the English message).
        texts = catalogue(language)
        await page.fill("#name", "nobody")
        await page.fill("#password", "not the password")
        await page.click("#submit")
        await expect(page.get_by_role("alert")).to_have_text(texts["error.wrong_credentials"])
        await check(page, "signin-refused", language, secrets)
        # Without ?lang= the page keeps the language chosen last in this browser.
        await page.goto(str(cti.client.make_url("/ui/signin.html")))
        await expect(page.locator("#heading")).to_have_text(texts["signin.heading"])
        await expect(page.locator("html")).to_have_attribute("lang", language)
        for name, role in PAGES:
            await page.goto(f"{cti.client.make_url(f'/ui/{name}.html')}#token={tokens[role]}")
            await expect(page.locator("#user-name")).not_to_be_empty()
            await expect(page.locator("html")).to_have_attribute("lang", language)
            if name == "desktop":
                await expect(page.locator("#agent-state")).not_to_be_empty()
                await page.click("#ready")  # before logging in: 409 agent_logged_out
                await expect(page.locator("#error")).to_have_text(texts["error.agent_logged_out"])
            if name == "routing":  # no rules file here: the rules from the settings, read-only
                await expect(page.locator("#queues tbody tr")).to_have_count(1)
                await expect(page.locator("#source")).to_contain_text("CTI_ROUTING_RULES")
                await expect(page.locator("#editor")).to_be_hidden()
            if name == "settings":
                await expect(page.locator("#setting-timezone")).to_contain_text("Asia/Jakarta")
                await expect(page.locator("#setting-admin_token")).to_contain_text(
                    "rahasia, tidak ditampilkan" if language == "id" else "secret, not shown")
            if name == "dashboard":
                await expect(page.locator("#link")).to_have_text("terhubung" if language == "id" else "connected")
            await check(page, name, language, secrets)
