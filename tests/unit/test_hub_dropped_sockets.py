"""Pages dropped for not answering the server's pings are said in the log (cti/web/_sockets.py, ``Hub._lost``): aiohttp
drops such a socket (1006, no closing handshake) without a word, and issue 21's 5,000-dashboard run lost 2,300 pages
on front ends whose logs said nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cti.web import _sockets
from cti.web._sockets import Hub


async def test_pages_dropped_without_a_closing_handshake_are_said_in_one_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(_sockets, "HEARTBEAT", 0.2)  # a ping after 0.2 s of quiet, its pong due 0.1 s later
    monkeypatch.setattr(_sockets, "LOST_NOTE_EVERY", 0.3)
    hub = Hub()

    async def snapshot() -> Any:
        return {"agents": []}

    async def dashboard(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "dashboard:all", snapshot)

    app = web.Application()
    app.router.add_get("/ws/dashboard", dashboard)
    caplog.set_level(logging.WARNING, logger="cti.web.sockets")
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = server.make_url("/ws/dashboard")
        # Two pages that never answer a ping (their reads stalled, as a starved client's are), one that leaves with
        # a closing handshake.
        deaf = [await session.ws_connect(url, autoping=False) for _ in range(2)]
        leaving = await session.ws_connect(url)
        await leaving.close()
        await asyncio.sleep(1.0)
        notes = [r.getMessage() for r in caplog.records if "without a closing handshake" in r.getMessage()]
        assert notes == ["2 page socket(s) dropped without a closing handshake in the last 0.3 s (2: TimeoutError: No "
                         "PONG received after 0.1 seconds); the pages reconnect to a snapshot"]
        assert hub.subscribers("dashboard:all") == 0
        for ws in deaf:
            await ws.close()
    await hub.close()
