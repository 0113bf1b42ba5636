"""An in-process cti wired to the session's Asterisk and Redis, a fresh database, and SIPp phones."""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import WorkItem
from cti.ari import AriClient, AriNotFound
from cti.asterisk import AsteriskRoot
from cti.bootstrap import RUNNING, Running, create_app
from cti.live import LiveStore
from cti.persistence import Database
from cti.services import CenterView
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.telephony import Telephony
from cti.types import utc_now
from cti.web import AccessLogger
from tests.support import create_postgres_database, eventually


async def serve(app: web.Application) -> TestClient[web.Request, web.Application]:
    """A started test client of ``app``, with the access logger `cti serve` uses: tests see (and
    tests/e2e/test_tokens.py checks) the same log lines."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log_class=AccessLogger)  # runner options go here, not to TestServer()
    client = TestClient(server)
    await client.start_server()
    return client


@dataclass
class ShiftedClock:
    """The wall clock, moved forward by what the test says."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Cti:
    """One running cti and helpers to drive it like its users would."""

    settings: Settings
    client: TestClient
    agent_tokens: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None

    @property
    def running(self) -> Running:
        return self.client.app[RUNNING]  # type: ignore[index]

    @property
    def query(self) -> CenterView:
        """The live contact center, read-only (as the web reads it)."""
        return self.running.distributor.query

    @property
    def telephony(self) -> Telephony:
        return self.running.telephony

    @property
    def live(self) -> LiveStore:
        return self.running.live

    @property
    def db(self) -> Database:
        return self.running.database

    @property
    def ari(self) -> AriClient:
        return self.telephony.ari

    async def drain(self) -> None:
        """Wait for actions in flight and for their writes."""
        await self.telephony.drain()

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.settings.admin_token.get_secret_value()}"}

    async def ws_url(self, path: str, token: str | None = None) -> str:
        """``path`` (a websocket, with its query) with a fresh ticket, as the pages open it."""
        ticket = (await self.api("POST", "/api/ws-tickets", token=token, expect=201))["ticket"]
        return str(self.client.make_url(path).update_query({"ticket": ticket}))

    async def api(self, method: str, path: str, *, token: str | None = None, expect: int = 200,
                  **kwargs: Any) -> Any:
        async with self.client.request(method, path, headers=self.headers(token), **kwargs) as resp:
            body = await resp.json() if resp.content_type == "application/json" else await resp.text()
            assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
            return body

    async def speaks(self, language: str, *tokens: str) -> None:
        """The users of ``tokens`` work in ``language`` (users start in Indonesian; their choice beats the
        browser's)."""
        for token in tokens:
            await self.api("PATCH", "/api/me", token=token, json={"language": language})

    async def create_agent(self, agent_id: str, name: str | None = None, **profile: Any) -> str:
        body = await self.api("POST", "/api/agents", expect=201,
                              json={"agent_id": agent_id, "name": name or agent_id, "profile": profile})
        self.agent_tokens[agent_id] = body["token"]
        return str(body["token"])

    async def login(self, agent_id: str, extension: str, *, ready: bool = True) -> dict[str, Any]:
        result: dict[str, Any] = await self.api(
            "POST", f"/api/agents/{agent_id}/login", token=self.agent_tokens.get(agent_id),
            json={"extension": extension, "ready": ready})
        return result

    async def first_call(self) -> WorkItem:
        """The first live call, once one has arrived."""
        return await eventually(lambda: next(iter(self.query.calls()), None), message="a call to arrive")

    async def answered(self, call_id: str, timeout: float = 15.0) -> None:
        """Wait until an agent has answered the call (it must still be live)."""
        def check() -> bool:
            call = self.query.find_call(call_id)
            return call is not None and call.answered_at is not None

        await eventually(check, timeout=timeout, message=f"call {call_id} to be answered")

    async def restart(self) -> None:
        """Stop this controller (calls stay up in Asterisk) and start a new one on the same state."""
        await self.client.close()
        self.client = await serve(create_app(self.settings, connect_timeout=15, clock=self.clock))

    async def settled(self, timeout: float = 20.0) -> None:
        """Every call ended and every write landed."""
        await eventually(lambda: not self.query.calls(), timeout=timeout, message="all calls to end")
        await _bounded(self.drain(), "the actions and writes in flight")


@pytest.fixture(params=["sqlite"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql":
        url, drop = await create_postgres_database()
        yield url
        await drop()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path}/cti.db"


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    """Settings a test module needs changed for its cti (override this fixture in the module)."""
    return {}


@pytest.fixture
def cti_clock() -> Callable[[], datetime] | None:
    """The clock cti decides by (override in a module to test calendars); None is the wall clock."""
    return None


@pytest.fixture
async def cti(asterisk: AsteriskRoot, base_settings: Settings, database_url: str,
              cti_settings_overrides: dict[str, Any], cti_clock: Callable[[], datetime] | None) -> AsyncIterator[Cti]:
    settings = base_settings.model_copy(update={
        "database_url": database_url,
        "redis_prefix": f"cti-test-{uuid.uuid4().hex[:8]}",
        **cti_settings_overrides,
    })
    client = await serve(create_app(settings, connect_timeout=15, clock=cti_clock))
    harness = Cti(settings, client, clock=cti_clock)
    try:
        yield harness
        await harness.settled()
    finally:
        ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
        await _bounded(harness.client.close(), "cti's shutdown")
        await ari.start()
        try:
            channels = await ari.list_channels()
            bridges = await ari.list_bridges()
            for channel in channels:  # leave a clean Asterisk for the next test whatever happened here
                await ari.hangup(channel.id)
            for bridge in bridges:
                await ari.destroy_bridge(bridge.id)
        finally:
            await ari.close()
    assert channels == [], f"channels leaked in Asterisk: {[c.name for c in channels]}"
    assert bridges == [], f"bridges leaked in Asterisk: {[b.id for b in bridges]}"


async def clean_asterisk(settings: Settings) -> None:
    """Hang up every channel and destroy every bridge: for a test whose callers were killed, not hung up, and whose
    cti leaves held callers for a next controller (as ``cti demo`` does: in real use Asterisk stops with it)."""
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
    await ari.start()
    try:
        for channel in await ari.list_channels():
            with contextlib.suppress(AriNotFound):  # gone with another: an IVR caller's snoop goes with them
                await ari.hangup(channel.id)
        for bridge in await ari.list_bridges():
            with contextlib.suppress(AriNotFound):
                await ari.destroy_bridge(bridge.id)
    finally:
        await ari.close()


async def _bounded(step: Awaitable[None], what: str, timeout: float = 60.0) -> None:
    """``step`` within ``timeout`` seconds; if it hangs, every task's stack goes to the report (a hang shows
    where it waits instead of ending as a bare pytest-timeout with only the threads' stacks)."""
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        pytest.fail(f"{what} did not end within {timeout:.0f} s; the tasks still running:\n{stacks.getvalue()}")


@pytest.fixture
def phones(base_settings: Settings) -> Iterator[dict[str, SippAgent]]:
    """Start SIPp agent phones by extension: ``phones_start(ext, ...)`` via the returned dict's helper."""
    started: dict[str, SippAgent] = {}
    yield started
    for phone in started.values():
        phone.stop()


async def bridge_members(cti: Cti, bridge_id: str) -> set[str]:
    """The channels ARI lists in a bridge now (none if the bridge is gone)."""
    try:
        return set((await cti.ari.get_bridge(bridge_id)).channels)
    except AriNotFound:
        return set()


async def until_bridge(cti: Cti, bridge_id: str, holds: Callable[[set[str]], bool], message: str) -> None:
    """Wait until the bridge's members satisfy ``holds``."""
    async def check() -> bool:
        return holds(await bridge_members(cti, bridge_id))

    await eventually(check, message=message)


def start_phone(phones: dict[str, SippAgent], settings: Settings, extension: str, **kwargs: Any) -> SippAgent:
    phone = SippAgent(settings.sim_agent_port(extension), **kwargs)
    phones[extension] = phone
    return phone


@pytest.fixture
def callers() -> Iterator[list[SippCaller]]:
    started: list[SippCaller] = []
    yield started
    for caller in started:
        caller.stop()
