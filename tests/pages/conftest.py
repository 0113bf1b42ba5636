"""The whole cti (create_app) for the page tests that need every feature (the agents' API, the desktop's and the
dashboard's sockets, the settings in force) but never a call: the session's Redis, a fresh database, and no
Asterisk. The ARI address is a port bound and never listened on, so cti's connection is refused at once and it
keeps retrying in the background, as a server whose Asterisk is down does; nothing here waits for it. These tests
run beside the Asterisk ones, in the other worker (tests/conftest.py ON_ASTERISK)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cti.bootstrap import create_app
from cti.settings import Settings
from tests.fullapp import (
    Cti,
    bounded,
    no_leftover_tasks,  # noqa: F401  (an autouse fixture: imported to be in force here)
    serve,
)


@pytest.fixture
async def cti(base_settings: Settings, database_url: str, tmp_path: Path, cti_settings_overrides: dict[str, Any],
              cti_clock: Callable[[], datetime] | None) -> AsyncIterator[Cti]:
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound and not listening: no one else gets the port, connecting is refused
        settings = base_settings.model_copy(update={
            "database_url": database_url,
            "redis_prefix": f"cti-test-{uuid.uuid4().hex[:8]}",
            "ari_url": f"http://127.0.0.1:{nobody.getsockname()[1]}",
            # Not the session Asterisk's folders: cti sweeps its prompts at start, and the other worker's calls
            # are playing them.
            "sounds_dir": tmp_path / "sounds",
            "recording_dir": tmp_path / "recordings",
            **cti_settings_overrides,
        })
        client = await serve(create_app(settings, clock=cti_clock))  # connect_timeout=0: no wait for ARI
        harness = Cti(settings, client, clock=cti_clock)
        try:
            yield harness
            await harness.settled()
        finally:
            await bounded(harness.client.close(), "cti's shutdown")
