"""A caller in the IVR when the controller is killed (``kill -9``) is served by the next one: the IVR's progress
lived in the dead process's memory only, so the new controller finds the caller in its app with no record on its
resync, clears what the old IVR left (its audio tap), and starts the caller's IVR again from the top. Before, such
a caller waited in silence until they hung up, and nobody recorded them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from cti.ari import AriClient
from cti.asterisk import AsteriskRoot
from cti.ivr import SAMPLE_FLOWS
from cti.persistence import Database, InteractionRepository
from cti.settings import Settings
from cti.sim import SippIvrCaller, Wait
from tests.e2e.controllers import Server, api, free_tcp_port, leaks
from tests.support import eventually

CALLER = "0215557301"


async def test_a_caller_in_the_ivr_when_the_controller_dies_is_served_by_the_next_one(
    asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path, callers: list[Any],
) -> None:
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
        "redis_prefix": f"cti-orphan-{uuid.uuid4().hex[:8]}", "http_port": free_tcp_port(),
        "ivr_flows": SAMPLE_FLOWS,
    })
    first = Server(settings, tmp_path / "cti.log")
    second = Server(settings, tmp_path / "cti.log")
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "orphancheck")
    await ari.start()
    left: tuple[list[str], list[str]] = ([], [])
    try:
        first.start()
        await first.healthy(http, timeout=90)
        caller = SippIvrCaller("1500100", [Wait(1000)], caller=CALLER, duration_ms=120_000,
                               target=base_settings.sip_bind)
        callers.append(caller)

        async def answered_by_the_first() -> Any:
            legs = [c for c in await ari.list_channels() if c.caller_number == CALLER and c.state == "Up"]
            return legs if "cti_calls_arrived_total 1" in await api(http, first, "GET", "/metrics") else None

        [leg] = await eventually(answered_by_the_first, timeout=20, message="the first controller's IVR answering")
        assert (leg.dialplan_app, leg.dialplan_app_data) == ("Stasis", "cti,inbound,1500100")
        await asyncio.sleep(1.0)  # its first prompt plays
        first.kill()

        second.start()
        await second.healthy(http, timeout=90)

        async def restarted() -> Any:
            return "cti_arrivals_restarted_total 1" in await api(http, second, "GET", "/metrics") or None

        await eventually(restarted, timeout=20, message="the new controller to take the caller as a new arrival")
        await asyncio.sleep(2.0)  # the new IVR speaks to them (its audio tap made again under the old one's ids)
        await ari.hangup(leg.id)
        assert await asyncio.to_thread(caller.wait, 20) == 0, caller.errors()[-1500:]

        async def recorded() -> Any:
            async with Database(settings.database_url) as database:
                rows = [r for r in await InteractionRepository(database).list(limit=10)
                        if r.caller_number == CALLER]
            return rows or None

        [row] = await eventually(recorded, timeout=20, message="the caller's interaction row")
        assert row.ivr is not None and row.ivr["prompts"], row.ivr
        assert (row.outcome, row.end_reason) == ("abandoned", "caller_hangup")
        assert second.stop() == 0, second.tail()
    finally:
        for server in (first, second):
            if server.proc is not None and server.proc.poll() is None:
                server.kill()
        await http.close()
        await ari.close()
        left = await leaks(settings)
    assert left == ([], []), f"left in Asterisk: {left}"
