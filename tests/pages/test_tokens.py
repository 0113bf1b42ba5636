"""Tokens and websockets through the whole app (create_app with no Asterisk, real sockets, a real Chromium): single-use
tickets instead of tokens in URLs; sockets closed at once when their user's token stops working, whoever stopped it;
an access log without secrets."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import aiohttp
import pytest
from playwright.async_api import expect

from cti.cli import main
from cti.web import HUB, SESSIONS
from tests.fullapp import Cti, ShiftedClock
from tests.support import browser_page, eventually


@pytest.fixture
def cti_clock() -> ShiftedClock:
    return ShiftedClock()


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The close code and reason the server ends ``ws`` with (frames before it are skipped)."""
    while True:
        message = await ws.receive(timeout=10)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return message.data, message.extra
        assert message.type is aiohttp.WSMsgType.TEXT, message


async def still_open(ws: aiohttp.ClientWebSocketResponse, frame_id: int) -> bool:
    await ws.send_json({"type": "ping", "id": frame_id})
    while True:
        frame = await ws.receive_json(timeout=10)
        if frame.get("type") == "pong":
            return bool(frame["id"] == frame_id)


async def refusal(http: aiohttp.ClientSession, url: object) -> tuple[int, str]:
    async with http.get(url) as response:  # type: ignore[call-overload]
        return response.status, (await response.json())["error"]["message"]


async def test_a_websocket_opens_with_a_single_use_ticket_and_never_with_a_token_in_the_url(
    cti: Cti, cti_clock: ShiftedClock,
) -> None:
    ana = await cti.create_agent("ana")
    async with aiohttp.ClientSession() as http:
        url = await cti.ws_url("/ws/desktop", ana)
        async with http.ws_connect(url) as ws:
            snapshot = await ws.receive_json(timeout=5)
            assert snapshot["type"] == "snapshot" and snapshot["data"]["agent"]["agent_id"] == "ana"
        assert await refusal(http, url) == (401, "invalid or expired ticket")  # spent
        late = await cti.ws_url("/ws/desktop", ana)
        cti_clock.advance(seconds=30)
        assert await refusal(http, late) == (401, "invalid or expired ticket")
        assert await refusal(http, cti.client.make_url(f"/ws/desktop?token={ana}")) == (
            401, "a token in the URL is refused: get a ticket from POST /api/ws-tickets and open the socket with "
                 "?ticket=")
        # Not even with a ticket beside it.
        assert (await refusal(http, f"{await cti.ws_url('/ws/desktop', ana)}&token={ana}"))[0] == 401
        # Clients that can set headers keep using the Authorization header.
        async with http.ws_connect(cti.client.make_url("/ws/desktop"), headers=cti.headers(ana)) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"


async def test_disabling_a_user_closes_their_sockets_at_once_and_the_page_stops(cti: Cti) -> None:
    ana = await cti.create_agent("ana")
    await cti.api("PATCH", "/api/me", token=ana, json={"language": "en"})  # the page's texts below are English
    bob = await cti.create_agent("bob")
    hub = cti.client.app[HUB]
    async with aiohttp.ClientSession() as http, browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={ana}")
        await expect(page.locator("#link")).to_have_text("connected")
        ana_ws = await http.ws_connect(await cti.ws_url("/ws/desktop", ana))
        bob_ws = await http.ws_connect(await cti.ws_url("/ws/desktop", bob))
        for ws in (ana_ws, bob_ws):
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        assert sorted(u.name for u in hub.owners()) == ["agent-ana", "agent-ana", "agent-bob"]

        await cti.api("POST", "/api/users/agent-ana/disable")
        # Done by the time the API answers, not by the periodic check.
        assert [u.name for u in hub.owners()] == ["agent-bob"]
        assert await closed(ana_ws) == (1008, "user disabled")
        await expect(page.locator("#link")).to_have_text("refused: user disabled")
        assert await page.evaluate("sessionStorage.getItem('cti.token')") is None  # the next load asks again
        assert await still_open(bob_ws, 1)
        await cti.api("POST", "/api/ws-tickets", token=ana, expect=401)
        await bob_ws.close()


async def test_rotating_or_deleting_closes_the_sockets_opened_with_the_old_token(cti: Cti) -> None:
    ana = await cti.create_agent("ana")
    sue = (await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    hub = cti.client.app[HUB]
    async with aiohttp.ClientSession() as http:
        desk = await http.ws_connect(await cti.ws_url("/ws/desktop", ana))
        board = await http.ws_connect(await cti.ws_url("/ws/dashboard", sue))
        for ws in (desk, board):
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"

        new = (await cti.api("POST", "/api/users/agent-ana/token"))["token"]
        assert [u.name for u in hub.owners()] == ["sue"]  # at once, not at the next periodic check
        assert await closed(desk) == (1008, "token rotated")
        await cti.api("GET", "/api/me", token=ana, expect=401)
        again = await http.ws_connect(await cti.ws_url("/ws/desktop", new))
        assert (await again.receive_json(timeout=5))["type"] == "snapshot"
        assert await still_open(board, 1)

        # Rotating one's own token closes one's own sockets too.
        sue2 = (await cti.api("POST", "/api/me/token", token=sue))["token"]
        assert [u.name for u in hub.owners()] == ["agent-ana"]
        assert await closed(board) == (1008, "token rotated")
        board = await http.ws_connect(await cti.ws_url("/ws/dashboard", sue2))
        assert (await board.receive_json(timeout=5))["type"] == "snapshot"

        await cti.api("DELETE", "/api/users/sue")
        assert [u.name for u in hub.owners()] == ["agent-ana"]
        assert await closed(board) == (1008, "user deleted")
        assert await still_open(again, 2)
        await again.close()


@pytest.fixture
def cli_env(cti: Cti) -> Iterator[None]:
    """The environment ``cti users`` reads, naming the running cti's database."""
    names = {"CTI_DATABASE_URL": cti.settings.database_url,
             "CTI_ARI_PASSWORD": cti.settings.ari_password.get_secret_value(),
             "CTI_ADMIN_TOKEN": cti.settings.admin_token.get_secret_value()}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


async def test_changes_made_elsewhere_and_expiry_close_sockets_at_the_next_check(
    cti: Cti, cti_clock: ShiftedClock, cli_env: None, capsys: pytest.CaptureFixture[str],
) -> None:
    ana = await cti.create_agent("ana")
    bob = await cti.create_agent("bob")
    sessions = cti.client.app[SESSIONS]
    async with aiohttp.ClientSession() as http:
        ana_ws = await http.ws_connect(await cti.ws_url("/ws/desktop", ana))
        bob_ws = await http.ws_connect(await cti.ws_url("/ws/desktop", bob))
        for ws in (ana_ws, bob_ws):
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        await cti.api("GET", "/api/me", token=ana)  # cached by the server

        # `cti users disable` is another process: the server learns of it at its next check.
        assert await asyncio.to_thread(main, ["users", "disable", "agent-ana"]) == 0
        assert capsys.readouterr().out == "agent-ana: disabled\n"
        assert await sessions.recheck() == 1
        assert await closed(ana_ws) == (1008, "user disabled")
        await cti.api("GET", "/api/me", token=ana, expect=401)
        assert await still_open(bob_ws, 1)

        # A token that expires while its socket is open.
        cti_clock.advance(days=30)
        assert await sessions.recheck() == 1
        assert await closed(bob_ws) == (1008, "token expired")
        assert (await cti.api("GET", "/api/me", token=bob, expect=401))["error"]["message"] == "token expired"


async def test_the_access_log_holds_no_token_and_no_ticket(cti: Cti, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ana = await cti.create_agent("ana")
    admin = cti.settings.admin_token.get_secret_value()
    async with aiohttp.ClientSession() as http:
        url = await cti.ws_url("/ws/desktop", ana)
        ticket = url.rpartition("ticket=")[2]
        async with http.ws_connect(url) as ws:
            await ws.receive_json(timeout=5)
        await refusal(http, cti.client.make_url(f"/ws/desktop?token={ana}"))
        async with http.get(cti.client.make_url("/api/me").with_query({"token": admin, "since": "3"}),
                            headers=cti.headers()) as response:
            assert response.status == 200
    lines = await eventually(lambda: [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"
                                      and "/ws/desktop?ticket=" in r.getMessage()] and
                             [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"],
                             message="the websocket's access log line")
    assert any('"GET /ws/desktop?ticket=*** HTTP/1.1" 101' in line for line in lines), lines
    assert any('"GET /ws/desktop?token=*** HTTP/1.1" 401' in line for line in lines), lines
    assert any('"GET /api/me?token=***&since=3 HTTP/1.1" 200' in line for line in lines), lines
    everything = caplog.text
    for secret in (ana, admin, ticket):
        assert secret not in everything
