"""The main job: ``cti demo`` runs a live contact center whose callers are served and whose pages answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from cti.ari import AriClient
from cti.asterisk import AsteriskRoot
from cti.persistence import Database, InteractionRepository
from cti.settings import Settings, load_settings
from cti.sim import free_udp_port
from cti.sim._demo import DEMO_RULES, _demo, demo_settings


async def test_the_demo_serves_callers_and_its_pages(
    asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_udp_port()  # free for TCP too, in practice; the demo binds it
    settings = demo_settings(base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/demo.db", "redis_prefix": "cti-demo-test",
        "routing_rules": None, "http_host": "127.0.0.1", "http_port": port}))
    assert (settings.routing_rules, settings.sim_agents) == (DEMO_RULES, 50)  # the session's Asterisk has 50
    demo = asyncio.create_task(_demo(settings, minutes=0.25, agents=4, rate=1.5))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):  # until the server listens
            try:
                async with http.get(f"{base}/healthz") as response:
                    health = await response.json()
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.2)
        assert health["status"] == "ok", health
        for page in ("/ui/desktop.html", "/ui/dashboard.html", "/ui/wfm.html", "/ui/index.html"):
            async with http.get(f"{base}{page}") as response:
                assert response.status == 200 and "<html" in await response.text()
        assert await demo == 0
    out = capsys.readouterr().out
    assert "/ui/desktop.html#token=" in out and "cti demo is running: 4 agents" in out

    db = Database(settings.database_url)
    await db.start()
    try:
        records = await InteractionRepository(db).list(limit=200)
    finally:
        await db.close()
    answered = [r for r in records if r.outcome == "answered"]
    assert answered, [(r.outcome, r.end_reason) for r in records]
    assert any(r.customer_id for r in records)  # seeded customers called and were recognised
    # The demo's SIPp callers are killed, not hung up, and cti leaves held callers for a next controller:
    # in real use Asterisk stops with the demo. Here the session's Asterisk goes on: clean it for the next test.
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
    await ari.start()
    try:
        for channel in await ari.list_channels():
            await ari.hangup(channel.id)
        for bridge in await ari.list_bridges():
            await ari.destroy_bridge(bridge.id)
    finally:
        await ari.close()


def test_the_demo_asks_for_its_simulated_agents_which_a_default_configuration_lacks() -> None:
    default = load_settings(ari_password="ari-secret", admin_token="Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    assert default.sim_agents == 0 and default.sim_agent_extensions() == []
    demo = demo_settings(default)
    assert (demo.sim_agents, demo.routing_rules) == (10, DEMO_RULES)
    assert demo_settings(default.model_copy(update={"sim_agents": 20})).sim_agents == 20
