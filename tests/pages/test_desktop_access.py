"""Who may open the agent desktop, in a real headless Chromium and over its socket, against the whole app
(create_app) with no Asterisk: the socket checks who calls; a token of another role is told why the desk is not
shown, and the front page takes each role where it works."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from playwright.async_api import expect

from tests.fullapp import Cti
from tests.support import browser_page


def url(cti: Cti, token: str) -> str:
    return f"{cti.client.make_url('/ui/desktop.html')}#token={token}"


async def speaks(cti: Cti, token: str, language: str) -> str:
    """The user's pages speak ``language`` (users start in Indonesian); the token, for chaining."""
    await cti.api("PATCH", "/api/me", token=token, json={"language": language})
    return token


async def test_desktop_socket_checks_who_is_calling(cti: Cti) -> None:
    token = await cti.create_agent("ana")
    await cti.create_agent("bob")
    async with aiohttp.ClientSession() as http:
        for headers, status in (({}, 401), ({"Authorization": "Bearer nope"}, 401)):
            async with http.get(cti.client.make_url("/ws/desktop"), headers=headers) as response:
                assert response.status == status
        # An agent may not open another agent's desktop: to them it does not exist.
        async with http.get(cti.client.make_url("/ws/desktop?agent_id=bob"),
                            headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 404
        async with http.ws_connect(await cti.ws_url("/ws/desktop", token)) as ws:
            snapshot = await ws.receive_json(timeout=5)
            assert snapshot["type"] == "snapshot" and snapshot["data"]["agent"]["agent_id"] == "ana"
            await ws.send_str("{garbage")
            assert (await ws.receive_json(timeout=5))["type"] == "error"
            await ws.send_json({"type": "script", "call_id": "nope", "answers": {}})
            reply = await ws.receive_json(timeout=5)
            assert reply["type"] == "error" and "no script" in reply["error"]["message"]


async def test_a_token_of_another_role_is_told_why_the_desktop_is_not_shown(cti: Cti, tmp_path: Path) -> None:
    sue = (await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    await speaks(cti, sue, "en")
    async with browser_page() as page:
        await page.goto(url(cti, sue))
        await expect(page.locator("#refused-message")).to_have_text(
            "You are signed in as sue (supervisor); this page is for agents.")
        await expect(page.locator("#link")).to_be_hidden()  # no silent "disconnected": the desk is not there
        await page.screenshot(path=str(tmp_path / "desktop-refused-en.png"))
    await speaks(cti, sue, "id")
    async with browser_page(locale="id-ID") as page:
        await page.goto(url(cti, sue))
        await expect(page.locator("#refused-message")).to_have_text(
            "Anda masuk sebagai sue (supervisor); halaman ini untuk agen.")
        # The front page takes each user where their role works: a supervisor to the dashboard, an agent to
        # the desktop, an administrator stays on the admin home.
        await page.goto(f"{cti.client.make_url('/ui/index.html')}#token={sue}")
        await page.wait_for_url("**/ui/dashboard.html")
    ana = await speaks(cti, await cti.create_agent("ana", "Ana"), "en")
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/index.html')}#token={ana}")
        await page.wait_for_url("**/ui/desktop.html")
        await expect(page.locator("#user-name")).to_have_text("Ana")
        await expect(page.locator("nav a")).to_have_text(["Agent desktop"])
        admin = cti.settings.admin_token.get_secret_value()
        await page.goto(f"{cti.client.make_url('/ui/index.html')}#token={admin}")
        await expect(page.locator("#admin-home")).to_be_visible()
        await expect(page.locator("nav a[aria-current=page]")).to_have_text("Beranda")  # users start in Indonesian
