"""The real cti, fuzzed: schemathesis sends what ``/openapi.json`` allows and what it does not, as an agent, a
supervisor and an admin, and no request may be answered with a 5xx; the websockets get garbage and must answer
with error frames or a close.

The app is the one ``cti serve`` runs (``create_app``: every feature, the session's real Asterisk and Redis, a
fresh SQLite database per role); schemathesis runs as its own process against it, as in CI anywhere. The run is
repeatable (a fixed seed, no example database) and bounded (``EXAMPLES`` per operation and phase): about
fifty seconds per role on a quiet machine. To look further, run it longer: ``CTI_FUZZ_EXAMPLES=1000
CTI_FUZZ_SEED=7 pytest tests/integration/test_fuzz_api.py`` (docs/api.md, "Fuzzing"). What a run finds is
fixed at its cause, with a test of its own; the fuzzing stays the net.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.asterisk import AsteriskRoot
from cti.bootstrap import create_app
from cti.settings import Settings
from cti.web import SESSIONS, FailureThrottle

Client = TestClient[web.Request, web.Application]
ROLES = ("agent", "supervisor", "admin")
EXAMPLES = int(os.environ.get("CTI_FUZZ_EXAMPLES", "10"))  # the suite stays under 20 minutes on 2 cores
SEED = int(os.environ.get("CTI_FUZZ_SEED", "1"))
RUN_LIMIT = 150 + EXAMPLES  # seconds for one role's run: a hung request must not hang CI


@pytest.fixture
async def cti(asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path) -> AsyncIterator[Client]:
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
        "redis_prefix": f"cti-fuzz-{uuid.uuid4().hex[:8]}",
    })
    client: Client = TestClient(TestServer(create_app(settings, connect_timeout=15), host="127.0.0.1"))
    await client.start_server()
    # The fuzzer's wrong passwords (signing in, changing one's own) would lock its address out of the rest of the
    # run: no lockouts here. The throttles are tested in tests/integration/test_signin_api.py.
    sessions = client.app[SESSIONS]
    sessions.throttle = FailureThrottle(limit=10**9)
    sessions.names = FailureThrottle(limit=10**9)
    try:
        yield client
    finally:
        await client.close()


async def token(cti: Client, settings: Settings, role: str) -> str:
    """A token of ``role``: the admin's, a new supervisor's, or agent ana's (the agent id the document's examples
    use, so the examples reach a real agent)."""
    admin = settings.admin_token.get_secret_value()
    if role == "admin":
        return admin
    path, body = ("/api/agents", {"agent_id": "ana", "name": "Ana Wijaya"}) if role == "agent" else (
        "/api/users", {"name": "sari", "role": "supervisor"})
    async with cti.post(path, json=body, headers={"Authorization": f"Bearer {admin}"}) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


def server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What cti logged as errors meanwhile (the 500s' tracebacks among them)."""
    return [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records
            if r.name.startswith("cti") and r.levelno >= logging.ERROR]


@pytest.mark.timeout(RUN_LIMIT + 120)
@pytest.mark.parametrize("role", ROLES)
async def test_no_request_gets_a_server_error(cti: Client, base_settings: Settings, role: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    bearer = await token(cti, base_settings, role)
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(cti.make_url("/openapi.json")),
        "--checks", "not_a_server_error", "-H", f"Authorization: Bearer {bearer}",
        "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--generation-database", "none", "--workers", "1", "--request-timeout", "30", "--no-color",
        # Rotating its own token would leave the rest of the run knocking with a dead one (and throttled for it):
        # that route's refusals and answers are tested in tests/integration/test_tokens_api.py.
        "--exclude-path", "/api/me/token",
    ]
    # In its own folder: schemathesis keeps a cache of what it found in the working directory.
    process = await asyncio.create_subprocess_exec(*command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_LIMIT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"schemathesis ran over {RUN_LIMIT} s as {role}")
    report = output.decode(errors="replace")
    errors = server_errors(caplog)
    assert (process.returncode, errors) == (0, []), f"as {role}:\n{report}\n" + "\n".join(errors)
    assert "Test cases:" in report and " generated, " in report  # it did run


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
