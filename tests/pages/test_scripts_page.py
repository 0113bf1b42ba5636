"""The call scripts page in a real (headless) Chromium against a live test server: a supervisor edits a script,
saves it as a new version and activates it; an invalid edit is refused with the server's problems and changes
nothing.

No Asterisk: a small app with the page, the scripts API, real auth and a real SQLite database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.persistence import Database, UserRepository
from cti.scripting import ScriptError, parse_script
from cti.web import SCRIPTS, _scripts, _signin, _ui
from tests.api import api_app
from tests.support import browser_page

TOKEN = "scripts-page-token-0123456789"
EN = json.loads((Path(__file__).resolve().parents[2] / "cti/web/static/i18n/en/scripts.json").read_text("utf-8"))
COMMON = json.loads((Path(__file__).resolve().parents[2] / "cti/web/static/i18n/en/common.json").read_text("utf-8"))
WELCOME: dict[str, Any] = {
    "title": {"id": "Sambutan", "en": "Welcome"},
    "steps": [
        {"id": "hello", "text": {"id": "Halo {{ customer.name }}", "en": "Hello {{ customer.name }}"}},
        {"id": "done", "text": {"id": "Terima kasih.", "en": "Thank you."}},
    ],
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("sri", "supervisor", TOKEN)
    app, _ = api_app(db, [_signin, _ui, _scripts])
    await app[SCRIPTS].save(WELCOME, author="budi", script_id="welcome")
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()
        await db.close()


async def test_a_supervisor_edits_saves_and_activates_a_script(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.patch(f"{base}/api/me", json={"language": "en"}) as response:
            assert response.status == 200

        async def versions() -> list[tuple[int, bool, str | None]]:
            async with http.get(f"{base}/api/scripts/welcome/versions") as found:
                return [(v["version"], v["active"], v["author"]) for v in await found.json()]

        async with browser_page(locale="en-GB", timezone_id="UTC") as page:
            await page.goto(f"{base}/ui/scripts.html#token={TOKEN}")
            await expect(page.locator("header nav a[aria-current=page]")).to_have_text(COMMON["nav.scripts"])
            row = page.locator("#scripts tbody tr")
            await expect(row).to_have_count(1)
            await expect(row.locator("th")).to_have_text("Welcome")
            await expect(row.locator("td")).to_have_text(["welcome", "1", "1", EN["scripts.open"]])
            await row.get_by_role("button").click()
            await expect(page.locator("#versions tbody tr")).to_have_count(1)
            await expect(page.locator("#versions tbody tr td").nth(0)).to_have_text("budi")
            shown = json.loads(await page.locator("#definition").input_value())
            assert shown == {"id": "welcome", **WELCOME}

            # The edit: a new greeting, saved as version 2 (not active yet), then activated.
            edited = copy.deepcopy(shown)
            edited["steps"][0]["text"]["en"] = "Good morning {{ customer.name }}"
            await page.locator("#definition").fill(json.dumps(edited, indent=2))
            await page.click("#save")
            await expect(page.locator("#confirm-title")).to_have_text("Save version 2 of Welcome?")
            await page.click("#confirm-yes")
            await expect(page.locator("#notice")).to_have_text("Saved as version 2. It is not active yet.")
            assert await versions() == [(1, True, "budi"), (2, False, "sri")]
            newest = page.locator("#versions tbody tr").first
            await expect(newest.locator("th")).to_have_text("2")
            await expect(newest.locator("td").nth(2)).to_have_text(EN["scripts.state.inactive"])
            await newest.locator("[data-action=activate]").click()
            await expect(page.locator("#confirm-title")).to_have_text("Activate version 2 of Welcome?")
            await page.click("#confirm-yes")
            await expect(page.locator("#notice")).to_have_text("Version 2 of Welcome is active: new calls get it.")
            await expect(newest.locator("td").nth(2)).to_have_text(EN["scripts.state.active"])
            await expect(row.locator("td").nth(1)).to_have_text("2")
            async with http.get(f"{base}/api/scripts/welcome") as response:
                active = await response.json()
            assert (active["version"], active["active"], active["author"]) == (2, True, "sri")
            assert active["definition"] == edited

            # Text that is not JSON is refused by the page itself, before anything is asked.
            await page.locator("#definition").fill("{")
            await page.click("#save")
            await expect(page.locator("#refusal")).to_have_text(EN["scripts.badjson"])
            await expect(page.locator("#confirm-dialog")).to_be_hidden()

            # An invalid edit (a step going nowhere): the refusal, the server's problems, nothing saved.
            broken = copy.deepcopy(edited)
            broken["steps"][0]["next"] = "nowhere"
            with pytest.raises(ScriptError) as refused:
                parse_script(broken, script_id="welcome")
            problems = [str(problem) for problem in refused.value.problems]
            assert problems  # the server lists at least the unknown step
            await page.locator("#definition").fill(json.dumps(broken))
            await page.click("#save")
            await page.click("#confirm-yes")
            await expect(page.locator("#refusal")).to_have_text(COMMON["error.invalid_script"])
            await expect(page.locator("#problems li")).to_have_text(problems)
            assert await versions() == [(1, False, "budi"), (2, True, "sri")]
            await expect(page.locator("#versions tbody tr")).to_have_count(2)
