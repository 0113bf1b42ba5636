"""The whole cti (create_app) under test, and helpers to drive it like its users would: the e2e tests run it
on the session's Asterisk (tests/e2e/conftest.py), the page tests with no Asterisk at all (tests/pages/conftest.py)."""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import WorkItem
from cti.ari import AriClient, AriNotFound
from cti.bootstrap import RUNNING, Running, create_app
from cti.live import LiveStore
from cti.persistence import Database
from cti.services import CenterView
from cti.settings import Settings
from cti.tasks import stop_task
from cti.telephony import Telephony
from cti.types import utc_now
from cti.web import AccessLogger
from tests.support import eventually


async def serve(app: web.Application) -> TestClient[web.Request, web.Application]:
    """A started test client of ``app``, with the access logger `cti serve` uses: tests see (and
    tests/pages/test_tokens.py checks) the same log lines."""
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
        """Wait for actions in flight and for their writes (on every media node)."""
        media = self.running.media
        await (self.telephony.drain() if media is None else media.drain())

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
        """Wait until an agent has answered the call (it must still be live) and their leg is in the call's
        bridge with the other party's. cti marks a call answered as the agent's leg enters Stasis and bridges
        the legs just after: a test that hung the caller up in between made a failed call of it (CI's callback
        refusal test: ``addChannel -> 422``, the caller's leg already leaving Stasis)."""
        async def check() -> bool:
            call = self.query.find_call(call_id)
            if call is None or call.answered_at is None or call.agent_channel_id is None:
                return False
            media = self.running.media  # several nodes: the bridge is on the caller's
            telephony = self.telephony if media is None or call.node is None else media.nodes[call.node]
            try:
                bridge = await telephony.ari.get_bridge(telephony.actions.bridge_of(call_id))
            except AriNotFound:
                return False
            return call.agent_channel_id in bridge.channels and len(bridge.channels) >= 2

        await eventually(check, timeout=timeout, message=f"call {call_id} to be answered and bridged")

    async def restart(self) -> None:
        """Stop this controller (calls stay up in Asterisk) and start a new one on the same state."""
        await self.client.close()
        self.client = await serve(create_app(self.settings, connect_timeout=15, clock=self.clock))

    async def settled(self, timeout: float = 20.0) -> None:
        """Every call ended and every write landed."""
        await eventually(lambda: not self.query.calls(), timeout=timeout, message="all calls to end")
        await bounded(self.drain(), "the actions and writes in flight")



async def stop_leftovers(what: str) -> None:
    """Tasks still running once ``what`` is over (every other fixture of the test torn down: see
    :func:`no_leftover_tasks`) are stopped as cti stops its own (cancelled again until they end):
    the event loop's close cancels each once and waits, so one that swallows its cancellation (redis-py does, now
    and then) hung the test's teardown for good (300 s, twice in the page tests). Any that needed a second cancel
    is named in a warning (the run's warnings summary): it would hold up a server's shutdown too."""
    current = asyncio.current_task()
    for task in [t for t in asyncio.all_tasks() if t is not current and not t.done()]:
        task.cancel()
        await asyncio.sleep(0)
        if task.done():
            continue
        await asyncio.wait([task], timeout=0.5)
        if not task.done():
            warnings.warn(f"after {what}, task {task.get_name()} ({task.get_coro()!r}) swallowed its cancellation",
                          RuntimeWarning, stacklevel=1)
            await stop_task(task, within=10.0)


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Autouse in the page and e2e tests (imported by their conftest): set up before, so torn down after, the test's
    other fixtures."""
    yield
    await stop_leftovers("the test and its fixtures")


async def bounded(step: Awaitable[None], what: str, timeout: float = 60.0) -> None:
    """``step`` within ``timeout`` seconds; if it hangs, every task's stack goes to the report (a hang shows
    where it waits instead of ending as a bare pytest-timeout with only the threads' stacks)."""
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        pytest.fail(f"{what} did not end within {timeout:.0f} s; the tasks still running:\n{stacks.getvalue()}")
