"""``cti demo``: a live contact center on this machine.

Starts Asterisk (configured from the repository), cti (API + ARI controller) and simulated agents on SIPp
phones, then feeds a stream of simulated callers: most wait and talk, some give up while waiting. Prints
the URLs to open and a status line every few seconds until Ctrl-C (or ``--minutes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from cti.asterisk import AsteriskError, AsteriskRoot
from cti.bootstrap import RUNNING, create_app
from cti.services import CenterView
from cti.settings import Settings, SettingsError, load_settings
from cti.sim._crm_seed import generate
from cti.sim._sipp import SippAgent, SippCaller, SippError, sipp_binary
from cti.web import ACCOUNTS, AGENTS, QUERY, AccessLogger

__all__ = ["run_demo"]

AGENT_NAMES = ("Siti Rahma", "Budi Santoso", "Dewi Lestari", "Agus Wijaya", "Rina Kusuma", "Joko Prasetyo",
               "Maya Sari", "Eko Nugroho", "Putri Ayu", "Hendra Gunawan")
# Where each demo agent sits and what they know: regional care teams, two also on the billing line.
AGENT_PROFILES = (
    {"region": "jakarta", "skills": {"care": 6, "billing": 3}}, {"region": "surabaya", "skills": {"care": 4}},
    {"region": "jakarta", "skills": {"care": 3}}, {"region": "medan", "skills": {"care": 7, "billing": 6}},
    {"region": "surabaya", "skills": {"care": 5}}, {"region": "denpasar", "skills": {"care": 2}},
    {"region": "jakarta", "skills": {"billing": 8}}, {"region": "makassar", "skills": {"care": 5}},
    {"region": "bandung", "skills": {"care": 4}}, {"region": "surabaya", "skills": {"care": 8, "billing": 2}},
)
DEMO_RULES = Path(__file__).with_name("demo-routing.yaml")
# Seeded CRM customers (a rich screen pop: cti.sim._crm_seed's fixed customers) and unknown callers.
CALLER_NUMBERS = ("02155501001", "0315550202", "0225550303", "+61412345004", "0615550505", "0411555606",
                  "0215550101", "0315550103", "+6281234500104", "03615550106", "+6591234567")


def run_demo(*, minutes: float, agents: int, rate: float) -> int:
    try:
        settings = demo_settings(load_settings())
        sipp_binary()
    except (SettingsError, SippError) as exc:
        print(f"cti demo: {exc}", file=sys.stderr)
        return 2
    if not 1 <= agents <= min(len(AGENT_NAMES), settings.sim_agents):
        print(f"cti demo: --agents must be 1..{min(len(AGENT_NAMES), settings.sim_agents)}", file=sys.stderr)
        return 2
    root = AsteriskRoot(settings.asterisk_root)
    try:
        root.build()
        root.install_config(settings)
        root.start(settings)
    except AsteriskError as exc:
        print(f"cti demo: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_demo(settings, minutes=minutes, agents=agents, rate=rate))
    finally:
        root.stop()


def demo_settings(settings: Settings) -> Settings:
    """The demo's rules unless others are set, and the endpoints of its SIPp agent phones: it asks for them
    (no credentials, loopback only), as a default configuration never has them."""
    if settings.routing_rules is None:
        settings = settings.model_copy(update={"routing_rules": DEMO_RULES})
    if settings.sim_agents < len(AGENT_NAMES):
        settings = settings.model_copy(update={"sim_agents": len(AGENT_NAMES)})
    return settings


async def _demo(settings: Settings, *, minutes: float, agents: int, rate: float) -> int:
    app = create_app(settings, connect_timeout=20)
    runner = web.AppRunner(app, access_log_class=AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    running = app[RUNNING]
    phones: list[SippAgent] = []
    callers: list[SippCaller] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if await running.customers.customer("10000001") is None:
            print("seeding the CRM with demo customers, products, orders and invoices", flush=True)
            await running.customers.seed(generate(now=datetime.now(UTC), customers=500))
        for n, ext in enumerate(settings.sim_agent_extensions()[:agents]):
            agent_id = f"agent{n + 1}"
            if not app[QUERY].has_agent(agent_id):
                await app[AGENTS].enroll(agent_id, AGENT_NAMES[n], AGENT_PROFILES[n])
            phones.append(SippAgent(settings.sim_agent_port(ext), ring_ms=random.randint(300, 1500),
                                    talk_ms=random.randint(4000, 12000)))
            await app[AGENTS].login(agent_id, ext, ready=True)
        _, desk_token = await app[ACCOUNTS].create_user(f"desk-{secrets.token_hex(3)}", "agent", "agent1")
        base = f"http://{settings.http_host}:{settings.http_port}"
        token = settings.admin_token.get_secret_value()
        print(f"""
cti demo is running: {agents} agents, about {rate:g} new callers per second.
Routing rules: {settings.routing_rules} (1500100 care, by the caller's region first; 1500200 billing).

  Health          {base}/healthz
  API document    {base}/openapi.json
  Queues (live)   curl -H 'Authorization: Bearer {token}' {base}/api/queues
  Agents (live)   curl -H 'Authorization: Bearer {token}' {base}/api/agents
  Call history    curl -H 'Authorization: Bearer {token}' {base}/api/interactions?limit=20
  Live calls, with every routing decision and its reasons:
                  curl -H 'Authorization: Bearer {token}' {base}/api/calls
  Metrics         curl -H 'Authorization: Bearer {token}' {base}/metrics

Pages (the token is in the link; keep it to yourself):
  Agent desktop of agent1 (screen pops as its calls come in)
                  {base}/ui/desktop.html#token={desk_token}
  Supervisor dashboard
                  {base}/ui/dashboard.html#token={token}
  Workforce management
                  {base}/ui/wfm.html#token={token}

Press Ctrl-C to stop.
""", flush=True)
        deadline = time.monotonic() + minutes * 60 if minutes > 0 else float("inf")
        next_status = 0.0
        while not stop.is_set() and time.monotonic() < deadline:
            # Most callers are patient (stay up to 40 s); about one in five gives up within 6 s.
            patient = random.random() > 0.2
            callers.append(SippCaller(
                "1500200" if random.random() < 0.25 else "1500100", caller=random.choice(CALLER_NUMBERS),
                caller_name="Demo caller",
                duration_ms=random.randint(20_000, 40_000) if patient else random.randint(2000, 6000),
            ))
            for done in [c for c in callers if c.proc is not None and c.proc.poll() is not None]:
                done.stop()  # removes its scratch directory
                callers.remove(done)
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + 5
                _status(app[QUERY], running.counters)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), random.expovariate(rate))
        print("stopping: hanging up callers and agents", flush=True)
        return 0
    finally:
        for proc in (*callers, *phones):
            proc.stop()
        await asyncio.sleep(1)
        await runner.cleanup()


def _status(query: CenterView, stats: Counter[str]) -> None:
    calls = query.calls()
    states: dict[str, int] = {}
    for agent in query.agents():
        states[agent.state.value] = states.get(agent.state.value, 0) + 1
    print(f"{time.strftime('%H:%M:%S')}  waiting {sum(c.state.value == 'waiting' for c in calls):2d}  "
          f"talking {sum(c.state.value == 'connected' for c in calls):2d}  agents {states}  "
          f"answered {stats['calls_answered']}  abandoned {stats['calls_abandoned']}", flush=True)
