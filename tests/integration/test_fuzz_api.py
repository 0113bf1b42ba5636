"""The real cti on the session's real Asterisk, fuzzed where it reaches Asterisk: schemathesis sends what
``/openapi.json`` allows and what it does not to the operations of the features that reach Asterisk (agents and
their logins, routing, click-to-dial and callbacks, the browser phone, recordings, monitors, the health check:
``tests.fuzzing.ASTERISK_FEATURES``), as an agent, a supervisor and an admin, and no request
may be answered with a 5xx. Every other operation, and the websockets' garbage, is fuzzed beside it without
Asterisk (tests/integration/test_fuzz_api_offline.py).

The app is the one ``cti serve`` runs (``create_app``: every feature, the session's real Asterisk and Redis, a
fresh SQLite database per role); schemathesis runs as its own process against it, as in CI anywhere. What a run
finds is fixed at its cause, with a test of its own; the fuzzing stays the net.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti.asterisk import AsteriskRoot
from cti.settings import Settings
from tests.fuzzing import ROLES, RUN_LIMIT, Client, fuzz, serving


@pytest.fixture
async def cti(asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path) -> AsyncIterator[Client]:
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
        "redis_prefix": f"cti-fuzz-{uuid.uuid4().hex[:8]}",
    })
    async with serving(settings, connect_timeout=15) as client:
        yield client


@pytest.mark.timeout(RUN_LIMIT + 120)
@pytest.mark.parametrize("role", ROLES)
async def test_no_request_that_reaches_asterisk_gets_a_server_error(
        cti: Client, base_settings: Settings, role: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await fuzz(cti, base_settings, role, tmp_path, caplog, with_asterisk=True)
