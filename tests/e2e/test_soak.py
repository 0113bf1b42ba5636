"""The soak benchmark's shorter run in CI (issue 21: ``bench/soak.py`` runs an hour; this runs 20 seconds):
``cti serve`` as its own process under a steady stream of callers, then idle again.

Seen from outside cti: every caller bridged with an agent (Asterisk's own account, an ARI application subscribed
to all events), one interaction row per caller (answered, ended by the agent), nothing left in Asterisk, and
nothing that follows the calls made rather than the calls live: once idle, Redis holds exactly the keys it held
before the first caller, and cti's metrics show no call live, nothing waiting to be written, no failed write.
The memory over an hour is the benchmark's (docs/benchmarks.md, Soak); 20 seconds say nothing about it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from unittest import mock

import aiohttp
import redis.asyncio as aioredis

from cti.asterisk import AsteriskRoot
from cti.persistence import Database, InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import start_phone
from tests.e2e.controllers import ChannelWatch, Server, free_tcp_port, leaks, log_in, settings_env
from tests.support import eventually

AGENTS = 15
RATE = 3.0  # callers a second: each agent takes about 2.5 s a call, so 15 agents keep up with room
SECONDS = 20
CALLERS = round(RATE * SECONDS)


async def redis_keys(settings: Settings) -> list[str]:
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        return sorted([key async for key in client.scan_iter(match=f"{settings.redis_prefix}*", count=1000)])
    finally:
        await client.aclose()


def metric_values(text: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(f"cti_{name}") and not line.startswith("#")]


async def test_a_steady_stream_of_callers_is_served_and_leaves_nothing_behind(
    asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path, phones: dict[str, SippAgent],
    callers: list[SippCaller],
) -> None:
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
        "redis_prefix": f"cti-soak-{uuid.uuid4().hex[:8]}",
        "http_port": free_tcp_port(),
    })
    with mock.patch.dict(os.environ, settings_env(settings), clear=True):
        assert Settings() == settings
    extensions = settings.sim_agent_extensions()[:AGENTS]
    watch = ChannelWatch(settings, set(extensions))
    server = Server(settings, tmp_path / "cti.log")
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    headers = {"Authorization": f"Bearer {server.admin}"}

    async def metrics() -> str:
        async with http.get(f"{server.url}/metrics", headers=headers) as resp:
            assert resp.status == 200
            return await resp.text()

    try:
        await watch.start()
        server.start()
        for ext in extensions:
            start_phone(phones, settings, ext, ring_ms=200, talk_ms=2000)
        await server.healthy(http)
        await log_in(http, server, extensions)
        await asyncio.sleep(1.5)  # the journal has written the idle picture (it writes about once a second)
        idle_keys = await redis_keys(settings)
        crowd = SippCaller("1500100", caller="0215557100", duration_ms=60_000, calls=CALLERS, rate=RATE,
                           limit=CALLERS)
        callers.append(crowd)
        assert await asyncio.to_thread(crowd.wait, SECONDS + 60) == 0, crowd.errors()[-2000:]

        async def idle() -> bool:
            text = await metrics()
            return (sum(metric_values(text, "calls_live")) == 0 and metric_values(text, "persistence_backlog") == [0]
                    and all(leg.ended_at for leg in watch.legs.values()))

        await eventually(idle, timeout=20, message="cti idle again, every leg ended")
        await asyncio.sleep(1.5)  # the journal's last write of the idle picture
        text = await metrics()
        assert metric_values(text, "redis_write_failures_total") == [0]
        assert metric_values(text, "db_write_failures_total") == [0]
        assert metric_values(text, "calls_shed_total") == [0]
        # The live picture follows the calls live: idle again, Redis holds what it held before the first caller.
        assert await redis_keys(settings) == idle_keys
        assert server.stop() == 0, server.tail()
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
        await http.close()
        await watch.stop()
        left = await leaks(settings)
        client = aioredis.from_url(settings.redis_url)
        try:
            async for key in client.scan_iter(match=f"{settings.redis_prefix}*"):
                await client.delete(key)
        finally:
            await client.aclose()

    assert left == ([], []), f"left in Asterisk: {left}"
    assert not watch.dropped, "the watching ARI application lost its events"
    caller_legs = watch.caller_legs()
    assert len(caller_legs) == CALLERS
    assert [leg.channel_id for leg in caller_legs if leg.bridged_at is None] == []  # every caller reached an agent
    async with Database(settings.database_url) as database:
        records = await InteractionRepository(database).list(limit=CALLERS + 100)
    assert sorted(r.channel_id for r in records) == sorted(leg.channel_id for leg in caller_legs)
    assert {(r.outcome, r.end_reason) for r in records} == {("answered", "agent_hangup")}
