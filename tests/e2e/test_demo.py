"""The main job: ``cti demo`` runs a live contact center whose callers go through the bilingual IVR and are served,
whose pages answer (and show the supervisor and an agent the live center in Chromium: consoles_under_load.py),
whose forecast has weeks of history, and whose console stays readable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from cti.asterisk import AsteriskRoot
from cti.persistence import CustomerRepository, Database, FaqRepository, InteractionRepository
from cti.settings import Settings, load_settings
from cti.sim import free_udp_port
from cti.sim._demo import DEMO_FLOWS, DEMO_RULES, DEMO_USERS, _demo, demo_password, demo_settings
from cti.sim._history import history_call_id
from tests.e2e.conftest import clean_asterisk
from tests.e2e.consoles_under_load import Admin, Shown, watch_dashboard, watch_desktop


async def test_the_demo_serves_callers_and_its_pages(
    asterisk: AsteriskRoot, base_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_udp_port()  # free for TCP too, in practice; the demo binds it
    settings = demo_settings(base_settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/demo.db", "redis_prefix": "cti-demo-test",
        "routing_rules": None, "http_host": "127.0.0.1", "http_port": port}))
    assert (settings.routing_rules, settings.ivr_flows, settings.sim_agents) == (DEMO_RULES, DEMO_FLOWS, 50)
    log_file = tmp_path / "demo.log"
    stop = asyncio.Event()  # set when the consoles have been watched: the demo then ends as on Ctrl-C
    # The demo ends when the consoles have been watched (``stop``); its own limit is only a bound. At 1.5 minutes it
    # once ended first, on a loaded machine, and the desktop waited for a next call that never came.
    demo = asyncio.create_task(_demo(settings, minutes=3, agents=4, rate=1.5, log_file=log_file, stop=stop))
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    in_ivr = 0
    consoles: asyncio.Future[tuple[None, tuple[Shown, Shown]]] | None = None
    try:
        async with aiohttp.ClientSession() as http:
            # Until the server listens: the demo renders its prompts and loads and compiles its speech models first
            # (a minute is plenty on two loaded cores).
            health: Any = None
            deadline = asyncio.get_running_loop().time() + 60
            while health is None:
                assert not demo.done(), f"the demo stopped before it listened: {demo.exception()!r}"
                assert asyncio.get_running_loop().time() < deadline, "the demo did not listen within a minute"
                try:
                    async with http.get(f"{base}/healthz") as response:
                        health = await response.json()
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            assert health["status"] == "ok", health
            for page in ("/ui/desktop.html", "/ui/dashboard.html", "/ui/wfm.html", "/ui/index.html"):
                async with http.get(f"{base}{page}") as response:
                    assert response.status == 200 and "<html" in await response.text()
            adherence = None
            signed_in: list[str] = []
            while not demo.done():  # the dashboard's figures, as callers flow: some are in the IVR
                with contextlib.suppress(aiohttp.ClientConnectionError):  # the demo has just stopped
                    async with http.get(f"{base}/api/stats", headers=admin) as response:
                        if response.status == 200:
                            figures = json.dumps(await response.json())
                            in_ivr = max([in_ivr, *(int(n) for n in re.findall(r'"in_ivr": (\d+)', figures))])
                    if not signed_in and in_ivr > 0:  # the users the console names sign in with its passwords
                        for user in DEMO_USERS:
                            async with http.post(f"{base}/api/session", json={
                                    "name": user.name, "password": demo_password(settings, user)}) as response:
                                if response.status == 200:
                                    signed_in.append((await response.json())["name"])
                    if adherence is None and in_ivr > 0:  # callers flow, so the demo has seeded today's schedule
                        async with http.get(f"{base}/api/wfm/adherence?timezone=Asia/Jakarta",
                                            headers=admin) as response:
                            adherence = await response.json()
                if consoles is None and in_ivr > 0:  # the supervisor's and an agent's pages, as callers flow
                    api = Admin(http, base, settings.admin_token.get_secret_value())
                    consoles = asyncio.gather(watch_dashboard(base, settings, api, agents=4),
                                              watch_desktop(base, settings, api))
                if consoles is not None and consoles.done():
                    stop.set()
                await asyncio.sleep(0.5)
            assert await demo == 0
            assert consoles is not None
            _, (first, second) = await consoles
    finally:
        stop.set()
        if consoles is not None and not consoles.done():
            consoles.cancel()
            with contextlib.suppress(BaseException):
                await consoles
        with contextlib.suppress(BaseException):
            await demo
        await clean_asterisk(settings)
    assert in_ivr > 0
    # Adherence today is measured against the schedule the demo solved from its history's forecast.
    assert adherence is not None and adherence["schedule"] is not None, adherence
    assert len(adherence["agents"]) >= 8 and all(agent["name"] for agent in adherence["agents"])
    out = capsys.readouterr().out
    # The console: where to go, who signs in with what, a line per event; no request log.
    assert f"cti demo is running: open {base}/ui/index.html" in out
    assert f"Sign in at {base}/ui/signin.html" in out
    for user in DEMO_USERS:
        assert f"  {user.role:<11} {user.name:<11} password {demo_password(settings, user)}\n" in out, out
    assert signed_in == ["admin", "supervisor", "agent1"]  # with those passwords, while the demo ran
    assert "all through the bilingual IVR" in out and "history: " in out and "schedule: today's, " in out
    assert "FAQ: 31 starter entries published" in out
    assert not re.search(r'"(GET|POST) /', out) and len(out.splitlines()) < 40, out
    assert re.search(r'"GET /healthz HTTP/1.1" 200', log_file.read_text())  # the request log went to the file

    db = Database(settings.database_url)
    await db.start()
    try:
        interactions = InteractionRepository(db)
        faq = await FaqRepository(db).entries(status="published")
        records = [r for r in await interactions.list(limit=200) if not r.call_id.startswith("hist-")]
        yesterday = datetime.now(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
        history = await interactions.get(history_call_id(yesterday, 1))
        # The agent's desktop showed who called, and what the agent wrote landed on the call.
        desk = [await interactions.get(shown.call_id) for shown in (first, second)]
        shown_customers = [None if not s.customer_id else await CustomerRepository(db).customer(s.customer_id)
                           for s in (first, second)]
    finally:
        await db.close()
    answered = [r for r in records if r.outcome == "answered"]
    assert answered, [(r.outcome, r.end_reason) for r in records]
    assert any(r.customer_id for r in records)  # seeded customers called and were recognised
    # Callers went through the IVR: keyed a language and a choice, then routing (or self-service).
    assert all(r.ivr is not None for r in records), [(r.call_id, r.outcome) for r in records if r.ivr is None]
    assert any(r.ivr and r.ivr["outcome"] == "transferred" for r in answered)
    assert any(p["event"] == "dtmf" for r in records if r.ivr for p in r.ivr["path"])
    # No demo caller asks for an order's status: reaching it would mean a key fell on the wrong menu (a customer
    # calling from their own phone is not asked their language).
    misled = [r.ivr["path"] for r in records if r.ivr and any(p["node"] == "verify_order" for p in r.ivr["path"])]
    assert not misled, misled[:2]
    assert history is not None and history.queue in ("care", "billing")  # eight weeks of history, once
    assert len(faq) == 31 and all(set(entry.texts) == {"id", "en"} for entry in faq)  # the starter FAQ
    for shown, record, customer in zip((first, second), desk, shown_customers, strict=True):
        assert record is not None and (record.agent_id, record.customer_id or "") == ("agent1", shown.customer_id)
        assert customer is None or customer.name == shown.customer
    assert desk[0] is not None and (desk[0].disposition, desk[0].notes) == ("resolved", "Sudah dijelaskan")


def test_the_demo_asks_for_its_simulated_agents_which_a_default_configuration_lacks() -> None:
    default = load_settings(ari_password="ari-secret", admin_token="Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    assert default.sim_agents == 0 and default.sim_agent_extensions() == []
    demo = demo_settings(default)
    assert (demo.sim_agents, demo.routing_rules, demo.ivr_flows) == (20, DEMO_RULES, DEMO_FLOWS)
    assert demo_settings(default.model_copy(update={"sim_agents": 30})).sim_agents == 30
    # A softphone account, the same on every start of this machine's demo (derived from the admin token).
    [(extension, password)] = demo.softphone_accounts().items()
    assert extension == "1001" and len(password) >= 20 and demo_settings(default).softphones == demo.softphones
    other = load_settings(ari_password="ari-secret", admin_token="Zq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    assert demo_settings(other).softphones != demo.softphones
    assert demo_settings(default.model_copy(update={"softphones": "1002:mine-1234"})).softphones == "1002:mine-1234"
