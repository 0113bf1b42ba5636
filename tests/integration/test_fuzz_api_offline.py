"""The real cti with no Asterisk, fuzzed everywhere Asterisk is not needed: schemathesis sends what
``/openapi.json`` allows and what it does not to every operation but those of ``tests.fuzzing.ASTERISK_FEATURES``
(fuzzed on the real Asterisk in tests/integration/test_fuzz_api.py), as an agent, a supervisor and an admin, and
no request may be answered with a 5xx; the websockets get garbage and must answer with error frames or a close.

The app is the one ``cti serve`` runs (``create_app``: every feature, the session's real Redis, a fresh SQLite
database per role) with Asterisk away (its ARI address answers nobody): none of these operations needs it, and so
they run beside the tests that own the Asterisk, on the other core. What a run finds is fixed at its cause, with a
test of its own; the fuzzing stays the net.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cti.settings import Settings
from tests.fuzzing import ROLES, RUN_LIMIT, Client, fuzz, server_errors, serving, token


@pytest.fixture
async def cti(base_settings: Settings, tmp_path: Path) -> AsyncIterator[Client]:
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound and not listening: no one else gets the port, connecting is refused
        settings = base_settings.model_copy(update={
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
            "redis_prefix": f"cti-fuzz-{uuid.uuid4().hex[:8]}",
            "ari_url": f"http://127.0.0.1:{nobody.getsockname()[1]}",  # Asterisk away: nothing here needs it
            # Not the session Asterisk's folders: cti sweeps its prompts at start, and the other worker's calls
            # are playing them.
            "sounds_dir": tmp_path / "sounds",
            "recording_dir": tmp_path / "recordings",
        })
        async with serving(settings) as client:
            yield client


@pytest.mark.timeout(RUN_LIMIT + 120)
@pytest.mark.parametrize("role", ROLES)
async def test_no_request_gets_a_server_error(cti: Client, base_settings: Settings, role: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    await fuzz(cti, base_settings, role, tmp_path, caplog, with_asterisk=False)


# -- the websockets -----------------------------------------------------------------------------------------
SOCKETS = {"/ws/desktop": "agent", "/ws/dashboard": "admin"}
GARBAGE: list[tuple[str | bytes, str]] = [
    ("not json", "not JSON"),
    (b"\x00\x01\xff", "binary frames are not accepted; send JSON text"),
    ("[" * 30_000 + "]" * 30_000, "JSON nested deeper than 32 levels"),  # RecursionError before
    ('{"type":' * 40 + "1" + "}" * 40, "JSON nested deeper than 32 levels"),
    ("[1, 2]", "a frame is a JSON object with a string 'type'"),
    ('{"type": 5}', "a frame is a JSON object with a string 'type'"),
    ('{"type": "nope"}', "unknown frame type 'nope'"),
    ("", "not JSON"),
]


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=10)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


@pytest.mark.parametrize("path", SOCKETS)
async def test_socket_garbage_gets_error_frames_and_the_socket_stays(
    cti: Client, base_settings: Settings, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {await token(cti, base_settings, SOCKETS[path])}"}
    async with cti.ws_connect(path, headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        for garbage, problem in GARBAGE:
            await (ws.send_bytes(garbage) if isinstance(garbage, bytes) else ws.send_str(garbage))
            reply = await receive(ws)
            assert (reply["type"], reply["error"]["message"][:len(problem)]) == ("error", problem), garbage[:40]
        await ws.send_str('{"type": "ping", "id": 1}')
        assert await receive(ws) == {"type": "pong", "id": 1}
        # One frame over the limit closes the socket with 1009 (message too big); the page reconnects.
        await ws.send_str("[" + "1," * 40_000 + "1]")
        message = await ws.receive(timeout=10)
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.MESSAGE_TOO_BIG)
    async with cti.ws_connect(path, headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
    assert server_errors(caplog) == []


@pytest.mark.parametrize("path", SOCKETS)
async def test_a_socket_since_no_page_can_have_seen_is_a_bad_request(
    cti: Client, base_settings: Settings, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {await token(cti, base_settings, SOCKETS[path])}"}
    for since in ("9" * 5000, str(2**53), "-1", "1.5"):  # 5,000 digits: a ValueError and a 500 before
        async with cti.get(path, params={"since": since}, headers=headers) as response:
            assert (response.status, await response.json()) == (400, {"error": {
                "status": 400, "code": "bad_request",
        "message": "since must be an integer from 0 to 9007199254740991"}})
    async with cti.ws_connect(path, params={"since": str(2**53 - 1)}, headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"  # from a page that saw more than there is: afresh
    assert server_errors(caplog) == []
