"""Signing in on the sign-in page in a real Chromium, against the whole app (create_app) with no Asterisk: a real
password (argon2id at its real cost), the session cookie the page never sees, the API called from the page with it
(reads alone, changes with the CSRF token), the refusals shown in both languages, and only same-origin pages as
``?next=``."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.fullapp import Cti, ShiftedClock
from tests.support import browser_page

PASSWORD = "kopi susu 2026!"


@pytest.fixture
def cti_clock() -> ShiftedClock:
    return ShiftedClock()


async def sign_in(page: Page, name: str, password: str) -> None:
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_person_signs_in_on_the_page_and_the_page_calls_the_api_with_the_cookie(
        cti: Cti, cti_clock: ShiftedClock) -> None:
    await cti.create_agent("ana", "Ana Wijaya")
    await cti.api("PUT", "/api/users/agent-ana/password", json={"password": PASSWORD})
    signin = cti.client.make_url("/ui/signin.html")
    async with browser_page() as page:
        # Wrong password: the refusal is said (in the alert region), in the page's language.
        await page.goto(f"{signin}?lang=en")
        await sign_in(page, "agent-ana", "not the password")
        await expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        await sign_in(page, "nobody", PASSWORD)  # an unknown name: the same words
        await expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        await page.goto(f"{signin}?lang=id")
        await expect(page.locator("html")).to_have_attribute("lang", "id")
        await page.get_by_label("Nama pengguna").fill("agent-ana")
        await page.get_by_label("Kata sandi").fill("bukan kata sandinya")
        await page.get_by_role("button", name="Masuk").click()
        await expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
        await page.goto(f"{signin}?lang=en&reason=expired")
        await expect(page.get_by_role("alert")).to_have_text("Your session has expired. Please sign in again.")

        # Signed in: off to the front page when ?next= is another site's, which takes an agent to the desktop.
        await page.goto(f"{signin}?lang=en&next=//evil.example/ui/x")
        await sign_in(page, "agent-ana", PASSWORD)
        await page.wait_for_url("**/ui/desktop.html")
        await page.goto(f"{signin}?lang=en")  # a page that stays put while the test calls the API from it
        # The page cannot read the session id (HttpOnly); it reads the CSRF token and calls the API with the cookie.
        assert "cti_session" not in await page.evaluate("document.cookie")
        me: dict[str, Any] = await page.evaluate("fetch('/api/me').then(r => r.json())")
        assert (me["name"], me["display_name"], me["role"], me["language"]) == (
            "agent-ana", "Ana Wijaya", "agent", "id")
        statuses = await page.evaluate("""async () => {
            const csrf = document.cookie.split('; ').find(c => c.startsWith('cti_csrf=')).split('=')[1];
            const without = await fetch('/api/ws-tickets', {method: 'POST'});
            const withIt = await fetch('/api/ws-tickets', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
            const language = await fetch('/api/me', {method: 'PATCH', headers: {'X-CSRF-Token': csrf,
                'Content-Type': 'application/json'}, body: JSON.stringify({language: 'en'})});
            return [without.status, withIt.status, (await language.json()).language];
        }""")
        assert statuses == [403, 201, "en"]

        # A same-origin page as ?next= is where the sign-in leads.
        await page.goto(f"{signin}?lang=en&next=/ui/desktop.html%3Fcame%3Dback")
        await sign_in(page, "agent-ana", PASSWORD)
        await page.wait_for_url("**/ui/desktop.html?came=back")
        await page.goto(f"{signin}?lang=en")

        # Signing out from the page ends the session: the cookie no longer opens the API.
        signed_out = await page.evaluate("""async () => {
            const csrf = document.cookie.split('; ').find(c => c.startsWith('cti_csrf=')).split('=')[1];
            const out = await fetch('/api/session', {method: 'DELETE', headers: {'X-CSRF-Token': csrf}});
            const me = await fetch('/api/me');
            return [out.status, me.status, (await me.json()).error.message];
        }""")
        assert signed_out == [200, 401, "missing bearer token"]

        # Throttled: repeated failures are refused with the wait, and the button waits too.
        await page.goto(f"{signin}?lang=en")
        alert = page.get_by_role("alert")
        for _ in range(12):
            await sign_in(page, "agent-ana", "guess guess")
            await expect(alert).not_to_have_text("")
            if (await alert.text_content() or "").startswith("Too many"):
                break
        await expect(alert).to_have_text(re.compile(r"^Too many failed attempts\. Try again in \d+ seconds\.$"))
        await expect(page.locator("#submit")).to_be_disabled()
    cti_clock.advance(minutes=16)  # the address and the name are free again for what follows


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The close code and reason the server ends ``ws`` with (frames before it are skipped)."""
    while True:
        message = await ws.receive(timeout=15)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return message.data, message.extra
        assert message.type is aiohttp.WSMsgType.TEXT, message


async def test_a_socket_opened_from_a_session_ends_with_it(cti: Cti, cti_clock: ShiftedClock) -> None:
    await cti.create_agent("ana", "Ana Wijaya")
    await cti.api("PUT", "/api/users/agent-ana/password", json={"password": PASSWORD})

    async def desktop(http: aiohttp.ClientSession) -> tuple[aiohttp.ClientWebSocketResponse, str]:
        async with http.post(cti.client.make_url("/api/session"),
                             json={"name": "agent-ana", "password": PASSWORD}) as response:
            assert response.status == 200
        csrf = http.cookie_jar.filter_cookies(cti.client.make_url("/"))["cti_csrf"].value
        async with http.post(cti.client.make_url("/api/ws-tickets"), headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 201
            ticket = (await response.json())["ticket"]
        ws = await http.ws_connect(cti.client.make_url("/ws/desktop").with_query(agent_id="ana", ticket=ticket))
        assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        return ws, csrf

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        ws, csrf = await desktop(http)
        kept, _ = await desktop(other)  # another browser's session, and its socket
        async with http.delete(cti.client.make_url("/api/session"), headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 200
        assert await closed(ws) == (1008, "signed out")
        # The session's expiry closes its socket at the next check (every few seconds).
        cti_clock.advance(hours=8)
        assert await closed(kept) == (1008, "session expired")
