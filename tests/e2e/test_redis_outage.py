"""Redis going away mid-call: calls go on from memory and Redis gets the whole picture when it returns."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually, unavailable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of this test's own, so the test can kill it without touching anyone else's."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            unavailable("redis-server is not installed")
        assert server is not None
        self.proc = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cti_settings_overrides(private_redis: PrivateRedis) -> dict[str, Any]:
    return {"redis_url": private_redis.url}


async def test_redis_dying_mid_call_loses_nothing(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    private_redis: PrivateRedis,
) -> None:
    start_phone(phones, base_settings, "7023", ring_ms=100)
    await cti.create_agent("calm")
    await cti.login("calm", "7023")
    caller = SippCaller("1500100", caller="0315550003", duration_ms=4000, target=cti.settings.sip_bind)
    callers.append(caller)
    call_id = (await cti.first_call()).call_id
    await cti.answered(call_id)

    private_redis.kill()  # Redis goes away in the middle of the conversation
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call_id)
    assert record is not None and (record.agent_id, record.outcome) == ("calm", "answered")
    assert cti.live.dirty and cti.live.write_failures >= 1
    health = await cti.client.get("/healthz")
    assert health.status == 503 and (await health.json())["components"]["redis"] is False
    agent = await cti.api("GET", "/api/agents/calm")
    assert (agent["state"], agent["calls_handled"]) == ("ready", 1)  # the API keeps working from memory

    private_redis.start()  # Redis returns, empty: the controller writes its whole picture back
    await eventually(lambda: not cti.live.dirty, timeout=10, message="Redis resync")
    stored = redis.Redis(port=private_redis.port, decode_responses=True)
    prefix = cti.settings.redis_prefix
    assert json.loads(stored.get(f"{prefix}:agent:calm") or "{}")["state"] == "ready"
    assert stored.smembers(f"{prefix}:calls") == set()
    stored.close()
