"""Web front ends as real processes (docs/scaling.md, *Web front ends*): one controller (`cti serve` with
CTI_FRAME_STREAM, its Asterisk away: the frames come from agents' state changes, which need no call), two
`cti front` processes and haproxy in front of them, configured as `cti cluster` renders it.

- A desktop on front end 1 (its token) and one on front end 2 (a ticket, issued through front end 2, redeemed by
  the leader) for the same agent receive identical frames, numbered as the leader numbers them, in order.
- Front end 1 is `kill -9`ed; frames go on being published; its desktop reconnects through haproxy with the last
  number it saw and is replayed every frame it missed: no gap, no duplicate, then live frames as the other has.
- The REST API through a front end is the leader's (forwarded); a token in a socket's URL is refused there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
import redis.asyncio as aioredis

from cti.settings import Settings
from cti.topology._configs import haproxy_config
from cti.topology._plan import ClusterPlan
from tests.e2e.controllers import REPO, free_tcp_port, settings_env
from tests.support import eventually, unavailable

PATIENCE = 30.0


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(5)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass
class Cluster:
    leader: str
    fronts: list[str]
    balancer: str
    admin: str
    procs: dict[str, Proc] = field(default_factory=dict)
    standby: str | None = None


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    import socket
    with socket.socket() as nobody:  # an Asterisk that is away: a port bound and never listened on
        nobody.bind(("127.0.0.1", 0))
        yield base_settings.model_copy(update={
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
            "redis_prefix": f"cti-test-front-{uuid.uuid4().hex[:8]}",
            "ari_url": f"http://127.0.0.1:{nobody.getsockname()[1]}", "sounds_dir": tmp_path / "sounds",
            "recording_dir": tmp_path / "recordings", "http_port": free_tcp_port(), "frame_stream": True,
            "sim_agents": 0, "softphones": "", "webphones": ""})


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> AsyncIterator[Cluster]:
    """One controller (or, with the parameter "standby", two `cti serve --standby` with a 3 s lease), two front ends
    and haproxy."""
    standby = getattr(request, "param", "single") == "standby"
    if standby:
        settings = settings.model_copy(update={"lease_seconds": 3.0})
    if shutil.which("haproxy") is None:
        unavailable("haproxy is not installed (apt-get install haproxy)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    env |= settings_env(settings) | {"PYTHONPATH": str(REPO)}
    # A front end is given no secret: only where Redis is (and its own port).
    front_env = {k: v for k, v in env.items() if k not in ("CTI_ADMIN_TOKEN", "CTI_ARI_PASSWORD")}
    ports = [free_tcp_port(), free_tcp_port()]
    web_port = free_tcp_port()
    (tmp_path / "haproxy").mkdir()
    plan = cast(ClusterPlan, SimpleNamespace(directory=tmp_path, web_port=web_port,
                                             web_backends=tuple(("127.0.0.1", port) for port in ports),
                                             redis_ports=(), redis_master_port=0))
    # The web part of what `cti cluster` renders (its Redis part fronts the cluster's own Redis, not needed here).
    web_part = haproxy_config(plan, "unused").split("\nfrontend redis_master")[0] + "\n"
    (tmp_path / "haproxy" / "haproxy.cfg").write_text(web_part)
    made = Cluster(f"http://127.0.0.1:{settings.http_port}", [f"http://127.0.0.1:{port}" for port in ports],
                   f"http://127.0.0.1:{web_port}", settings.admin_token.get_secret_value())
    try:
        made.procs["leader"] = Proc([sys.executable, "-m", "cti", "serve", *(["--standby"] if standby else [])],
                                    env, tmp_path / "leader.log")
        for i, port in enumerate(ports, start=1):
            made.procs[f"front{i}"] = Proc([sys.executable, "-m", "cti", "front", "--port", str(port)], front_env,
                                           tmp_path / f"front{i}.log")
        made.procs["haproxy"] = Proc(["haproxy", "-db", "-f", str(tmp_path / "haproxy" / "haproxy.cfg")], env,
                                     tmp_path / "haproxy.log")
        async with aiohttp.ClientSession() as http:
            for url in [*made.fronts, made.balancer]:
                async def up(url: str = url) -> bool:
                    for name, proc in made.procs.items():
                        if not proc.alive():
                            pytest.fail(f"{name} exited:\n{proc.tail()}")
                    try:
                        async with http.get(f"{url}/healthz") as resp:
                            return resp.status == 200
                    except aiohttp.ClientError:
                        return False

                await eventually(up, timeout=240, interval=0.2, message=f"{url}/healthz")
        if standby:  # started once the first leads, so that it is the one standing by
            second = free_tcp_port()
            made.standby = f"http://127.0.0.1:{second}"
            made.procs["standby"] = standing = Proc([sys.executable, "-m", "cti", "serve", "--standby"],
                                                    env | {"CTI_HTTP_PORT": str(second)}, tmp_path / "standby.log")
            await eventually(lambda: standing.alive() and "standing by" in standing.tail(), timeout=240,
                             interval=0.2, message="the second controller standing by")
        yield made
    finally:
        for proc in made.procs.values():
            proc.stop()
        client = aioredis.from_url(settings.redis_url)
        keys = [key async for key in client.scan_iter(match=f"{settings.redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


class Desktop:
    """A desktop's socket as /ui/cti.js runs it: the last number seen, ``?since=`` on reconnecting."""

    def __init__(self, http: aiohttp.ClientSession, agent_id: str) -> None:
        self.http = http
        self.agent_id = agent_id
        self.frames: list[dict[str, Any]] = []
        self.snapshots = 0
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def last_seq(self) -> int:
        return self.frames[-1]["seq"] if self.frames else 0

    async def connect(self, base: str, *, token: str | None = None, ticket: str | None = None,
                      path: str = "/ws/desktop") -> None:
        params = {"agent_id": self.agent_id} if path == "/ws/desktop" else {}
        if self.frames:
            params["since"] = str(self.last_seq)
        if ticket is not None:
            params["ticket"] = ticket
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await self.http.ws_connect(f"{base.replace('http', 'ws', 1)}{path}", params=params,
                                        headers=headers, heartbeat=None)
        self.closed.clear()
        self._task = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame.get("type") == "snapshot":
                    self.snapshots += 1
                    if not self.frames:
                        self.frames.append({"seq": frame["seq"], "type": "snapshot"})
                    continue
                self.frames.append(frame)
        finally:
            self.close_code = ws.close_code
            self.closed.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _api(http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status < 300, (resp.status, await resp.text())
        return await resp.json()


def _live(frames: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(f["seq"], f["type"], json.dumps(f.get("data"), sort_keys=True)) for f in frames if f["type"] != "snapshot"]


async def test_desktops_on_two_front_ends_see_the_same_frames_and_one_killed_misses_nothing(
        cluster: Cluster) -> None:
    front1, front2 = cluster.fronts
    async with aiohttp.ClientSession() as http:
        # Through a front end: the REST API is the leader's.
        created = await _api(http, "POST", f"{front1}/api/agents", cluster.admin,
                             {"agent_id": "fe1", "name": "Front End", "profile": {"skills": {"general": 5}}})
        token = created["token"]
        await _api(http, "POST", f"{front2}/api/agents/fe1/login", token, {"ready": False})
        async with http.get(f"{front1.replace('http', 'ws', 1)}/ws/desktop", params={"token": token}) as refused:
            assert refused.status == 401

        one, two = Desktop(http, "fe1"), Desktop(http, "fe1")
        await one.connect(front1, token=token)
        ticket = (await _api(http, "POST", f"{front2}/api/ws-tickets", token))["ticket"]
        await two.connect(front2, ticket=ticket)
        await eventually(lambda: one.snapshots and two.snapshots, message="both snapshots")

        async def toggle(times: int, via: str) -> None:
            for i in range(times):
                await _api(http, "POST", f"{via}/api/agents/fe1/state", token,
                           {"state": "ready" if i % 2 == 0 else "not_ready", "reason": None if i % 2 == 0 else
                            "break"})

        await toggle(20, front1)
        await eventually(lambda: len(_live(one.frames)) >= 20 and _live(one.frames)[-1][0] == two.last_seq
                         and one.last_seq == two.last_seq, timeout=PATIENCE, message="both desktops caught up")
        await asyncio.sleep(0.5)  # nothing more arrives on one than on the other
        seqs = [seq for seq, _, _ in _live(one.frames)]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # the leader's numbers, none missing
        common = max(seqs[0], _live(two.frames)[0][0])  # a frame published between the two connects: one's only
        assert [f for f in _live(one.frames) if f[0] >= common] == [f for f in _live(two.frames) if f[0] >= common]

        # The supervisors' dashboards too: the same numbered frames from either front end.
        boards = [Desktop(http, ""), Desktop(http, "")]
        for board, base in zip(boards, cluster.fronts, strict=True):
            await board.connect(base, token=cluster.admin, path="/ws/dashboard")
        await eventually(lambda: all(len(_live(b.frames)) >= 4 for b in boards), timeout=PATIENCE,
                         message="dashboard frames on both front ends")
        await toggle(2, front1)  # a 'live' frame each, between the 'stats' frames
        await eventually(lambda: boards[0].last_seq == boards[1].last_seq and len(_live(boards[0].frames)) >= 7,
                         timeout=PATIENCE, message="the dashboards level")
        first = max(_live(boards[0].frames)[0][0], _live(boards[1].frames)[0][0])
        board_frames = [[f for f in _live(b.frames) if first <= f[0] <= boards[0].last_seq] for b in boards]
        assert board_frames[0] == board_frames[1] and {t for _, t, _ in board_frames[0]} >= {"stats", "live"}
        for board in boards:
            await board.close()

        # Front end 1 dies; the leader goes on publishing; its desktop reconnects through haproxy with its number
        # (as the page does: a new ticket, then the socket, retrying every quarter second).
        before = one.last_seq
        killed_at = time.monotonic()
        cluster.procs["front1"].kill()
        publishing = asyncio.create_task(toggle(11, front2))
        await asyncio.wait_for(one.closed.wait(), PATIENCE)
        deadline = time.monotonic() + PATIENCE
        reconnected_at = None
        while reconnected_at is None:
            try:
                ticket = (await _api(http, "POST", f"{cluster.balancer}/api/ws-tickets", token))["ticket"]
                await one.connect(cluster.balancer, ticket=ticket)
                reconnected_at = time.monotonic()
            except (aiohttp.ClientError, AssertionError):
                assert time.monotonic() < deadline, "the desktop could not reconnect through haproxy"
                await asyncio.sleep(0.25)
        await publishing
        await eventually(lambda: one.last_seq == two.last_seq and len(_live(two.frames)) >= 31,
                         timeout=PATIENCE, message="the reconnected desktop caught up")
        caught_up_at = time.monotonic()
        await toggle(4, cluster.balancer)
        await eventually(lambda: one.last_seq == two.last_seq and one.last_seq >= before + 15, timeout=PATIENCE,
                         message="live frames after the reconnect")
        await asyncio.sleep(0.5)
        seqs = [seq for seq, _, _ in _live(one.frames)]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate across the reconnect
        assert one.snapshots == 1  # replayed, not resynced from a snapshot
        assert [f for f in _live(one.frames) if f[0] >= common] == [f for f in _live(two.frames) if f[0] >= common]
        print(f"front end killed -> reconnected through haproxy {reconnected_at - killed_at:.2f} s, "
              f"caught up {caught_up_at - killed_at:.2f} s (11 frames published meanwhile)")

        # The agent's token rotated (through a front end): the sockets the front ends serve for them close with
        # 1008, told at their next renewal with the leader.
        rotated_at = time.monotonic()
        await _api(http, "POST", f"{front2}/api/me/token", token)
        await asyncio.wait_for(asyncio.gather(one.closed.wait(), two.closed.wait()), PATIENCE)
        assert one.close_code == two.close_code == 1008
        print(f"token rotated -> both front ends' desktops closed {time.monotonic() - rotated_at:.2f} s later")
        await one.close()
        await two.close()


@pytest.mark.parametrize("cluster", ["standby"], indirect=True)
async def test_a_new_leader_behind_the_front_ends_sends_every_page_to_its_snapshot(cluster: Cluster) -> None:
    """The leader `kill -9`ed: the standby takes over, the front ends follow its address and term, every page they
    serve is closed with 4001 and reconnects (without since, as the pages do) to the new leader's snapshot; then
    both front ends relay its frames, the same on both."""
    front1, front2 = cluster.fronts
    async with aiohttp.ClientSession() as http:
        created = await _api(http, "POST", f"{front1}/api/agents", cluster.admin,
                             {"agent_id": "fe2", "name": "Front End", "profile": {"skills": {"general": 5}}})
        token = created["token"]
        await _api(http, "POST", f"{front1}/api/agents/fe2/login", token, {"ready": True})
        one, two = Desktop(http, "fe2"), Desktop(http, "fe2")
        await one.connect(front1, token=token)
        await two.connect(front2, token=token)
        await eventually(lambda: one.snapshots and two.snapshots, message="both snapshots")
        await _api(http, "POST", f"{front1}/api/agents/fe2/state", token, {"state": "not_ready", "reason": "break"})
        await eventually(lambda: one.last_seq == two.last_seq and _live(one.frames), message="a frame on both")

        killed_at = time.monotonic()
        cluster.procs["leader"].kill()
        await asyncio.wait_for(asyncio.gather(one.closed.wait(), two.closed.wait()), 60)
        closed_at = time.monotonic()
        assert one.close_code == two.close_code == 4001
        for desktop, base in ((one, front1), (two, front2)):
            desktop.frames = []  # 4001: the page forgets its number
            deadline = time.monotonic() + PATIENCE
            while True:
                try:
                    await desktop.connect(base, token=token)
                    break
                except aiohttp.ClientError:
                    assert time.monotonic() < deadline, "the desktop could not reconnect to its front end"
                    await asyncio.sleep(0.25)
        await eventually(lambda: one.snapshots == 2 and two.snapshots == 2, message="the new leader's snapshots")
        snapshot_at = time.monotonic()
        await _api(http, "POST", f"{front2}/api/agents/fe2/state", token, {"state": "ready"})
        await _api(http, "POST", f"{front1}/api/agents/fe2/state", token, {"state": "not_ready", "reason": "break"})
        await eventually(lambda: len(_live(one.frames)) >= 2 and one.last_seq == two.last_seq, timeout=PATIENCE,
                         message="the new leader's frames on both")
        await asyncio.sleep(0.5)
        assert _live(one.frames) == _live(two.frames)
        assert [json.loads(data)["state"] for _, kind, data in _live(one.frames) if kind == "agent"][-2:] == [
            "ready", "not_ready"]
        print(f"leader killed -> pages closed for the new term {closed_at - killed_at:.2f} s, "
              f"new snapshots {snapshot_at - killed_at:.2f} s")
        await one.close()
        await two.close()
