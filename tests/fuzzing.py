"""The API fuzzing's shared parts (tests/integration/test_fuzz_api.py and test_fuzz_api_offline.py): schemathesis
run as its own process against a real cti as an agent, a supervisor and an admin, no 5xx and no error logged.

The operations that reach Asterisk (``ASTERISK_FEATURES``) are fuzzed against a cti on the session's real
Asterisk, in the worker that owns it; every other operation against a cti with no Asterisk (nothing of theirs
needs one), beside it on the other core. The run is repeatable (a fixed seed, no example database) and bounded
(``EXAMPLES`` per operation and phase). To look further: ``CTI_FUZZ_EXAMPLES=1000 CTI_FUZZ_SEED=7 pytest
tests/integration/test_fuzz_api*.py`` (docs/api.md, "Fuzzing").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.bootstrap import create_app
from cti.settings import Settings
from cti.web import SESSIONS, FailureThrottle, _agents, _calls, _outbound, _phone, _recordings, _service, _supervision
from cti.web._openapi import ApiModule

Client = TestClient[web.Request, web.Application]
ROLES = ("agent", "supervisor", "admin")
EXAMPLES = int(os.environ.get("CTI_FUZZ_EXAMPLES", "10"))  # the suite stays under 20 minutes on 2 cores
SEED = int(os.environ.get("CTI_FUZZ_SEED", "1"))
RUN_LIMIT = 150 + EXAMPLES  # seconds for one role's run: a hung request must not hang CI

ASTERISK_FEATURES: tuple[ApiModule, ...] = (_service, _agents, _calls, _outbound, _phone, _recordings, _supervision)
"""The features whose operations reach Asterisk: logins that check the phone's endpoint, click-to-dial and callbacks,
the browser phone, recordings, monitors, the health check that reports it (and their features' other operations).
The call controls (``_desktop``) act on a call, and the fuzzer has none: refused alike with or without Asterisk."""
ASTERISK_PATHS = tuple(sorted({path for feature in ASTERISK_FEATURES for path in feature.openapi_paths}))
SKIPPED_PATHS = ("/api/me/token",)
"""Rotating its own token would leave the rest of the run knocking with a dead one (and throttled for it): that
route's refusals and answers are tested in tests/integration/test_tokens_api.py."""


@contextlib.asynccontextmanager
async def serving(settings: Settings, *, connect_timeout: float = 0.0) -> AsyncIterator[Client]:
    """The app ``cti serve`` runs, on a test server, without lockouts: the fuzzer's wrong passwords (signing in,
    changing one's own) would lock its address out of the rest of the run. The throttles are tested in
    tests/integration/test_signin_api.py."""
    client: Client = TestClient(TestServer(create_app(settings, connect_timeout=connect_timeout), host="127.0.0.1"))
    await client.start_server()
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


async def fuzz(cti: Client, settings: Settings, role: str, folder: Path, caplog: pytest.LogCaptureFixture, *,
               with_asterisk: bool) -> None:
    """Run schemathesis as ``role`` over the operations that reach Asterisk (``with_asterisk``) or all the
    others; fail on any 5xx or error logged."""
    bearer = await token(cti, settings, role)
    select: list[str] = []
    for path in ASTERISK_PATHS:
        select += ["--include-path" if with_asterisk else "--exclude-path", path]
    for path in SKIPPED_PATHS:
        select += ["--exclude-path", path]
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(cti.make_url("/openapi.json")),
        "--checks", "not_a_server_error", "-H", f"Authorization: Bearer {bearer}",
        "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--generation-database", "none", "--workers", "1", "--request-timeout", "30", "--no-color", *select,
    ]
    # In its own folder: schemathesis keeps a cache of what it found in the working directory.
    process = await asyncio.create_subprocess_exec(*command, cwd=folder, stdout=asyncio.subprocess.PIPE,
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
