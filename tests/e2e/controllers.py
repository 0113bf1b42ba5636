"""Controllers as their own processes (``python -m cti serve``) and Asterisk's account of every channel, for the
tests that kill, freeze or replace a controller under load (test_kill_restart, test_standby_takeover) and for
bench/failover.py, which times the same faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from cti.ari import AriClient, AriNotFound
from cti.records import InteractionRecord
from cti.redis_client import redis_client
from cti.settings import Settings
from cti.tasks import stop_task
from tests.support import Pending, eventually

REPO = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``CTI_*`` environment variables ``cti serve`` reads."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict | list | tuple):
            value = json.dumps(value)
        env[f"CTI_{name.upper()}"] = str(value)
    return env


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def asterisk_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


class Server:
    """``python -m cti serve`` from this checkout, configured only through its environment."""

    def __init__(self, settings: Settings, log: Path, *, args: tuple[str, ...] = ()) -> None:
        """``args`` follow ``serve`` (``--standby``)."""
        self.args = args
        self.url = f"http://{settings.http_host}:{settings.http_port}"
        self.admin = settings.admin_token.get_secret_value()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
        self.env |= settings_env(settings) | {"PYTHONPATH": str(REPO)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"--- starting cti {' '.join(self.args)} at {datetime.now(UTC).isoformat()}\n".encode())
            out.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "cti", "serve", *self.args], env=self.env, cwd=REPO,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    async def healthy(self, http: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        async def up() -> bool | Pending:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"cti exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                async with http.get(f"{self.url}/healthz") as resp:
                    return resp.status == 200 or Pending(f"/healthz {resp.status}; its log ends:\n{self.tail()}")
            except aiohttp.ClientError as exc:
                # Where a slow start is (imports, migrations, Asterisk, Redis): what the server has said so far.
                return Pending(f"/healthz: {exc!r}; its log ends:\n{self.tail()}")

        await eventually(up, timeout=timeout, interval=0.1, message="cti's /healthz")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown, no last write
        self.proc.wait(5)

    def stop(self, timeout: float = 20.0) -> int:
        """Graceful stop (SIGTERM); the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Leg:
    channel_id: str
    name: str
    created_at: datetime
    ended_at: datetime | None = None
    up_at: datetime | None = None  # answered (its state first Up)
    bridged_at: datetime | None = None  # first entered a call's bridge (``cti-call-*``)
    bridge_id: str | None = None  # that bridge: a caller's leg and the agent's leg it was connected with share it

    @property
    def endpoint(self) -> str:
        """``PJSIP/7001-0000002a`` -> ``7001``."""
        return self.name.split("/", 1)[-1].rsplit("-", 1)[0]


class ChannelWatch:
    """Every channel Asterisk creates and hangs up, read from an ARI application that subscribes to all events.

    Events arrive in the order Asterisk published them. A leg to an agent's phone counts from its creation to
    its first sign of ending (in practice ``ChannelHangupRequest``, published as the hang-up starts, before the
    leg leaves Stasis; else its destruction): cti can only act on a leg's end after that, so a new leg to the
    same phone before it means the phone was offered two calls at once.
    """

    _ENDS = frozenset({"ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"})

    def __init__(self, settings: Settings, agent_endpoints: set[str]) -> None:
        base = settings.ari_url.replace("http", "ws", 1)
        self.url = f"{base}/ari/events?app=cti-watch-{uuid.uuid4().hex[:8]}&subscribeAll=true"
        self.auth = aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password.get_secret_value())
        self.agent_endpoints = agent_endpoints
        self.legs: dict[str, Leg] = {}
        self.alive: dict[str, set[str]] = defaultdict(set)  # agent endpoint -> its legs not ended yet
        self.overlaps: list[str] = []
        self.events = 0
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.dropped = False

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(headers={"Authorization": self.auth})
        ws = await self._session.ws_connect(self.url, heartbeat=10)
        self._task = asyncio.create_task(self._read(ws))

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._event(json.loads(msg.data))
        finally:
            await ws.close()
            self.dropped = not self._stopping

    def _event(self, event: dict[str, Any]) -> None:
        self.events += 1
        channel = event.get("channel")
        if not isinstance(channel, dict):
            return
        kind, at, channel_id = event["type"], asterisk_time(event["timestamp"]), channel["id"]
        if kind == "ChannelCreated":
            leg = self.legs[channel_id] = Leg(channel_id, channel["name"], at)
            if leg.endpoint in self.agent_endpoints:
                alive = self.alive[leg.endpoint]
                if alive:
                    others = ", ".join(f"{c} (since {self.legs[c].created_at:%H:%M:%S.%f})" for c in sorted(alive))
                    self.overlaps.append(f"{leg.endpoint}: {channel_id} created at {at:%H:%M:%S.%f} "
                                         f"while {others} still up")
                alive.add(channel_id)
        elif kind == "ChannelStateChange" and channel["state"] == "Up" and channel_id in self.legs:
            leg = self.legs[channel_id]
            leg.up_at = leg.up_at or at
        elif (kind == "ChannelEnteredBridge" and channel_id in self.legs
              and event["bridge"]["id"].startswith("cti-call-")):
            leg = self.legs[channel_id]
            if leg.bridged_at is None:
                leg.bridged_at, leg.bridge_id = at, event["bridge"]["id"]
        elif kind in self._ENDS and channel_id in self.legs:
            leg = self.legs[channel_id]
            if leg.ended_at is None:
                leg.ended_at = at
                self.alive[leg.endpoint].discard(channel_id)

    def agent_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.endpoint in self.agent_endpoints]

    def caller_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.endpoint not in self.agent_endpoints]

    def up(self, endpoints: set[str]) -> set[str]:
        """The agent endpoints among ``endpoints`` with a leg up now."""
        return {e for e in endpoints if self.alive[e]}


async def api(http: aiohttp.ClientSession, server: Server, method: str, path: str, *, token: str | None = None,
               expect: int = 200, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token or server.admin}"}
    async with http.request(method, f"{server.url}{path}", headers=headers, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
        return body


async def leaks(settings: Settings) -> tuple[list[str], list[str]]:
    """Channels and bridges left in Asterisk (removed, so the next test starts clean)."""
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
    await ari.start()
    try:
        channels = await ari.list_channels()
        bridges = await ari.list_bridges()
        for channel in channels:
            await ari.hangup(channel.id)
        for bridge in bridges:
            await ari.destroy_bridge(bridge.id)
    finally:
        await ari.close()
    return [c.name for c in channels], [b.id for b in bridges]


def offers(records: list[InteractionRecord]) -> dict[str, list[tuple[datetime, datetime, str]]]:
    """Per agent, each offer made to them: (offered, over, call id), in the order made. An offer is over at the
    call's next offer, or at the end of the call if it was the last one."""
    by_agent: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for record in records:
        offered = [d for d in record.routing.get("decisions", []) if d["kind"] == "offered"]
        assert record.ended_at is not None
        for n, decision in enumerate(offered):
            over = datetime.fromisoformat(offered[n + 1]["at"]) if n + 1 < len(offered) else record.ended_at
            by_agent[decision["winner"]].append((datetime.fromisoformat(decision["at"]), over, record.call_id))
    return {agent: sorted(offers) for agent, offers in by_agent.items()}


@dataclass
class LeaseLog:
    """Who held the lease when, read from Redis every 20 ms: ``(first seen, holder's pid, token)`` per term."""

    settings: Settings
    terms: list[tuple[datetime, int, int]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        # A single cancel that lands in a Redis read is swallowed now and then, and the loop went on for good
        # (bench/failover.py stuck at its first runs): stop_task cancels again until it ends.
        await stop_task(self._task)

    async def _watch(self) -> None:
        client = redis_client(self.settings.redis_url, socket_timeout=2.0, decode_responses=True)
        try:
            while True:
                held = await client.get(f"{self.settings.redis_prefix}:leader")
                if held is not None:
                    holder, token = held.rsplit(" ", 1)
                    pid = int(holder.split(":")[-2])
                    if not self.terms or self.terms[-1][2] != int(token):
                        self.terms.append((datetime.now(UTC), pid, int(token)))
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def leader(self) -> int | None:
        return self.terms[-1][1] if self.terms else None


async def standing_by(server: Server) -> None:
    """Until ``server`` has started and waits for the lease (it says so in its log: a standby serves nothing)."""
    def waiting() -> bool:
        assert server.proc is not None
        assert server.proc.poll() is None, server.tail()
        return "standing by as" in server.tail(1_000_000)

    await eventually(waiting, timeout=60, interval=0.1, message="the standby to start")


async def sight_written(settings: Settings) -> None:
    """Until the leader next writes its sight of Asterisk (about once a second): a kill just after it bounds how
    much earlier than their real end the calls that end while nobody leads are recorded as ended
    (test_standby_takeover's SIGHT_SLACK), and how stale the picture a next controller reads is."""
    client = redis_client(settings.redis_url, socket_timeout=2.0, decode_responses=True)
    try:
        key = f"{settings.redis_prefix}:sight"
        before = await client.get(key)

        async def changed() -> bool:
            return await client.get(key) != before

        await eventually(changed, timeout=5, interval=0.01, message="the leader's next sight of Asterisk")
    finally:
        await client.aclose()


async def hang_up(settings: Settings, channel_ids: list[str]) -> None:
    """The agents hang up (Asterisk sends their phones a BYE): what their phones would do, when the test says."""
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "hang-up")
    await ari.start()
    try:
        for channel_id in channel_ids:
            with contextlib.suppress(AriNotFound):
                await ari.hangup(channel_id)
    finally:
        await ari.close()


async def log_in(http: aiohttp.ClientSession, leader: Server, extensions: list[str]) -> dict[str, str]:
    """Agents ``agentNN`` at ``extensions``, in order, ready; agent id by extension."""
    by_extension = {}
    for n, ext in enumerate(extensions):
        body = await api(http, leader, "POST", "/api/agents", expect=201,
                         json={"agent_id": f"agent{n:02}", "name": f"Agent {n}", "profile": {}})
        await api(http, leader, "POST", f"/api/agents/agent{n:02}/login", token=body["token"],
                  json={"extension": ext, "ready": True})
        by_extension[ext] = f"agent{n:02}"
    return by_extension
