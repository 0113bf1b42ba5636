"""Web chat benchmark: message delivery customer -> agent and agent -> customer with 1,000 chats and 100 agents.

Run from the repository root inside the venv::

    python bench/chat.py               # default run (1,000 customers, 100 agents, 10 messages each way; ~3 min)
    python bench/chat.py --quick       # smoke run (100 customers, 10 agents, 20 s of messages; under a minute)
    python bench/chat.py --with-calls  # the same while calls go through Asterisk (needs the Asterisk root)
    python bench/chat.py --cprofile 25 # profile cti's event loop during the messages (read shares, not times)
    python bench/chat.py --cprofile-setup 25  # ... while the 1,000 chats start and are accepted

It starts what it needs (a private redis-server, cti in this process with a fresh SQLite database and its own Redis
prefix, the clients in another process), measures, cleans up and prints one JSON object as the last line of
stdout. Progress goes to stderr. See docs/benchmarks.md, "Web chat".

Set-up: ``--agents`` agents are created through the API with the profile ``{"capacity": {"voice": 0, "chat":
--capacity}}`` and logged in ready. A chat-only agent still logs in at an extension that must be a PJSIP endpoint
(``AgentService.login`` asks Asterisk), so without ``--with-calls`` (no Asterisk) the benchmark wraps
``Telephony.endpoint_exists`` on the class before cti starts: the agents' own extensions (80001..) exist, any
other is asked of Asterisk as usual. Every agent's desktop socket (``/ws/desktop``, the token in the header) is
open. ``--customers`` customers then start a chat each (``POST /api/portal/chat``), each in its own aiohttp
session with its own cookie jar (the ``cti_chat`` cookie) and its own loopback source address (127.1.x.y: cti
throttles chat starts per address, 10 in 15 minutes), and open their socket (``/api/portal/chat/ws``). Each
agent accepts every ``chat_offer`` its desktop gets (``POST /api/chats/{id}/accept``).

Messages: for ``--duration`` seconds every customer and the agent of their chat send ``--messages`` messages
each, at a steady rate (each chat with its own random phase, the agent half an interval after the customer), the
customer through ``POST /api/portal/chat/messages`` (as the portal's chat widget does), the agent through
``POST /api/chats/{id}/messages`` (as the desktop does). Each message's text carries a unique id and the send
time: ``bench <id> <perf_counter>``.

* t0: the sender's client, just before its POST. t1: the other side's socket receives the frame carrying that
  id (the customer's ``message`` frame; the agent's desktop ``chat_message`` frame), before parsing it. Delivery =
  t1 - t0. Both sides' clients run in the one client process (one clock).
* sent = POSTs answered 201 (the message kept); received = distinct ids that reached the other side; ``lost`` =
  sent - received after a grace period (``--grace``); duplicates, frames at the wrong socket (a message of another
  chat) and refused POSTs (any other status) are counted apart.
* Baseline, same run, same client process and load: a bare aiohttp relay in this process in cti's place, with
  the same routes for the same requests (start a chat: its agent by round robin, an offer on the desktop;
  accept; a POST kept with one Redis XADD on the same private Redis, then the frame to both sides' sockets).
  What cti adds over it (routing, checks, the chat's log and order, the hub) is the difference. The relay's
  phase runs with cti's collector settings (``gc.freeze`` and ``GC_THRESHOLDS``), as cti's phase does.
  ``--baseline-only`` runs this phase alone (to check the harness).
* The client process is the measuring instrument and stands in for 1,100 browsers, each with a heap of its own:
  after the set-up (before the first message) it runs one full collection, timed (``client_gc.set_up``: what
  each collection of its oldest generation would walk), and freezes what it holds (``gc.freeze``) so that its
  collector walks only what the messages make; received ids and times are kept in flat lists and only the sends in
  flight are kept. Its collections during the messages are reported (``client_gc``: count, longest, CPU) beside
  the server's (``server_gc``). ``--client-gc default`` leaves its collector as CPython has it (as before
  December 7), to compare.
* CPU by consumer during the messages: this process (cti, or the relay), the client process, Redis, Asterisk and
  SIPp with ``--with-calls``, everything else (``other``, e.g. other people's tests on a shared machine).
* ``--with-calls``: SIPp callers and SIPp agents through Asterisk and cti (as ``bench/callpath.py``'s cti path)
  during cti's message phase, at ``--call-rate`` with ``--call-agents`` phones: calls bridged and their latency
  are reported beside the chat's numbers (not during the baseline's phase).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import itertools
import json
import logging
import os
import platform
import pstats
import random
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
if str(REPO) not in sys.path:  # `python bench/chat.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from aiohttp import ClientSession, ClientTimeout, CookieJar, TCPConnector, WSMsgType, web  # noqa: E402

from bench._harness import (  # noqa: E402
    bench_settings,
    drop_redis_keys,
    machine_busy,
    proc_cpu,
    redis_url,
    serve_cti,
    summary_ms,
)
from cti.bootstrap._app import GC_THRESHOLDS  # noqa: E402

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")
TARGET_P99_MS = 100.0
CHAT_COOKIE = "cti_chat"
FIRST_EXTENSION = 80001  # the chat agents' extensions: no phone behind them


def say(message: str) -> None:
    print(f"[chat {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def customer_address(n: int) -> str:
    """Customer n's own loopback source address (127.1.0.1, 127.1.0.2, ...; Linux routes all of 127/8 to lo)."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


class LagProbe:
    """How late an event loop wakes from a 10 ms sleep: its stalls (busy with work, or the process not scheduled
    on a busy machine), sampled all the time."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - t - 0.01)

    def start(self) -> None:
        self.lags = []
        self.task = asyncio.get_running_loop().create_task(self._probe())

    async def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return {**summary_ms(self.lags), "over_50ms": sum(1 for v in self.lags if v > 0.05)}


# == the client process ===========================================================================================
# Customers and agents run in their own process, as browsers would: clients in cti's process would put their work
# on the event loop being measured. Commands come as JSON lines on stdin, answers go as JSON lines on stdout.

@dataclass(slots=True)
class Sent:
    mid: str
    chat: int
    direction: str  # "c2a" or "a2c"
    due: float
    t0: float = 0.0
    t_answer: float = 0.0
    status: int = 0


@dataclass
class Clients:
    base_url: str
    agent_tokens: dict[str, str]
    chat_ids: list[str] = field(default_factory=list)  # chat n's id
    chat_index: dict[str, int] = field(default_factory=dict)
    agent_of: dict[int, str] = field(default_factory=dict)  # chat n -> its agent (once accepted)
    customers: list[ClientSession] = field(default_factory=list)
    agents: dict[str, ClientSession] = field(default_factory=dict)
    # What reached a socket: its id, t1, and whether it was the right socket, in three flat lists (strings,
    # floats and booleans are not tracked by the collector; 20,000 tuples would be, in every full collection).
    received_ids: list[str] = field(default_factory=list)
    received_t1: list[float] = field(default_factory=list)
    received_right: list[bool] = field(default_factory=list)
    echoes: int = 0  # a side's own messages back on its own socket (cti tells everyone in the chat)
    errors: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    accepted: asyncio.Event = field(default_factory=asyncio.Event)
    expected_chats: int = 0

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def got(self, mid: str, t1: float, right: bool) -> None:
        self.received_ids.append(mid)
        self.received_t1.append(t1)
        self.received_right.append(right)

    @staticmethod
    def parse(text: str) -> tuple[str, float] | None:
        parts = text.split(" ")
        if len(parts) != 3 or parts[0] != "bench":
            return None
        return parts[1], float(parts[2])

    # -- agents ---------------------------------------------------------------------------------------------
    async def open_desktops(self) -> None:
        for agent_id, token in self.agent_tokens.items():
            session = ClientSession(headers={"Authorization": f"Bearer {token}"}, timeout=ClientTimeout(total=60))
            self.agents[agent_id] = session
            ws = await session.ws_connect(f"{self.base_url}/ws/desktop", heartbeat=None, max_msg_size=0)
            first = await ws.receive_json(timeout=30)
            if first.get("type") != "snapshot":
                raise RuntimeError(f"desktop of {agent_id}: first frame {first!r}")
            self.spawn(self.read_desktop(agent_id, ws))

    async def read_desktop(self, agent_id: str, ws: Any) -> None:
        while True:
            msg = await ws.receive()
            t1 = time.perf_counter()
            if msg.type is not WSMsgType.TEXT:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    self.closed[f"desktop {msg.type.name} {msg.data!r} {msg.extra!r}"] += 1
                    return
                continue
            frame = json.loads(msg.data)
            kind = frame.get("type")
            data = frame.get("data") or {}
            if kind == "chat_message":
                parsed = self.parse(data.get("text", ""))
                if parsed is None:
                    continue
                mid = parsed[0]
                if data.get("sender") != "customer":
                    self.echoes += 1
                    continue
                n = self.chat_index.get(data.get("chat_id", ""), -1)
                right = n >= 0 and mid.startswith(f"c{n}.") and self.agent_of.get(n) == agent_id
                self.got(mid, t1, right)
            elif kind == "chat_offer":
                self.spawn(self.accept(agent_id, data["chat_id"]))
            elif kind == "error":
                self.errors[f"desktop error frame {data!r}"[:200]] += 1

    async def accept(self, agent_id: str, chat_id: str) -> None:
        for _ in range(200):  # the offer may reach the desktop before the start's answer reaches its customer
            if chat_id in self.chat_index:
                break
            await asyncio.sleep(0.05)
        n = self.chat_index.get(chat_id)
        async with self.agents[agent_id].post(f"{self.base_url}/api/chats/{chat_id}/accept") as resp:
            if resp.status != 200:
                self.errors[f"accept HTTP {resp.status}: {(await resp.text())[:120]}"] += 1
                return
        if n is None:
            self.errors["offer of a chat no customer of this run started"] += 1
            return
        self.agent_of[n] = agent_id
        if len(self.agent_of) >= self.expected_chats:
            self.accepted.set()

    # -- customers ------------------------------------------------------------------------------------------
    async def start_chat(self, n: int) -> None:
        session = ClientSession(cookie_jar=CookieJar(unsafe=True), timeout=ClientTimeout(total=60),
                                connector=TCPConnector(local_addr=(customer_address(n), 0)))
        self.customers[n] = session
        async with session.post(f"{self.base_url}/api/portal/chat",
                                json={"name": f"Customer {n}", "language": "id"}) as resp:
            body = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"chat {n}: start answered HTTP {resp.status} {body}")
        chat_id = body["chat_id"]
        self.chat_ids[n] = chat_id
        self.chat_index[chat_id] = n
        ws = await session.ws_connect(f"{self.base_url}/api/portal/chat/ws", heartbeat=None, max_msg_size=0)
        self.spawn(self.read_customer(n, ws))

    async def read_customer(self, n: int, ws: Any) -> None:
        while True:
            msg = await ws.receive()
            t1 = time.perf_counter()
            if msg.type is not WSMsgType.TEXT:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    self.closed[f"customer {msg.type.name} {msg.data!r} {msg.extra!r}"] += 1
                    return
                continue
            frame = json.loads(msg.data)
            if frame.get("type") == "message":
                data = frame.get("data") or {}
                parsed = self.parse(data.get("text", ""))
                if parsed is None:
                    continue
                if data.get("sender") != "agent":
                    self.echoes += 1
                    continue
                self.got(parsed[0], t1, parsed[0].startswith(f"a{n}."))
            elif frame.get("type") == "error":
                self.errors[f"customer error frame {frame.get('error')!r}"[:200]] += 1

    async def setup(self, customers: int, start_rate: float, timeout: float) -> dict[str, Any]:
        t = time.perf_counter()
        await self.open_desktops()
        desktops_s = time.perf_counter() - t
        self.expected_chats = customers
        self.chat_ids = [""] * customers
        self.customers = [None] * customers  # type: ignore[list-item]
        starts: list[asyncio.Task[None]] = []
        t = time.perf_counter()
        for n in range(customers):
            due = t + n / start_rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            starts.append(asyncio.get_running_loop().create_task(self.start_chat(n)))
        results = await asyncio.gather(*starts, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                self.errors[f"start: {r!r}"[:200]] += 1
        started_s = time.perf_counter() - t
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.accepted.wait(), timeout)
        return {"desktops_s": round(desktops_s, 2), "chats_started": sum(1 for c in self.chat_ids if c),
                "chats_started_s": round(started_s, 2), "chats_accepted": len(self.agent_of),
                "all_accepted_s": round(time.perf_counter() - t, 2), "errors": dict(self.errors)}

    # -- the messages ---------------------------------------------------------------------------------------
    async def send(self, s: Sent) -> None:
        s.t0 = time.perf_counter()
        text = f"bench {s.mid} {s.t0:.6f}"
        try:
            if s.direction == "c2a":
                url = f"{self.base_url}/api/portal/chat/messages"
                async with self.customers[s.chat].post(url, json={"text": text}) as resp:
                    s.status = resp.status
                    await resp.read()
            else:
                agent = self.agent_of[s.chat]
                url = f"{self.base_url}/api/chats/{self.chat_ids[s.chat]}/messages"
                async with self.agents[agent].post(url, json={"text": text}) as resp:
                    s.status = resp.status
                    await resp.read()
        except Exception as exc:  # counted, the run goes on
            self.errors[f"send {s.direction}: {exc!r}"[:200]] += 1
            s.status = -1
        s.t_answer = time.perf_counter()
        if s.status != 201:
            self.errors[f"send {s.direction}: HTTP {s.status}"] += 1

    async def run(self, duration: float, messages: int, grace: float, seed: int, client_gc: str) -> dict[str, Any]:
        rng = random.Random(seed)
        interval = duration / messages
        start = time.perf_counter() + 0.5
        plan: list[Sent] = []
        for n in sorted(self.agent_of):
            phase = rng.uniform(0, interval)
            for k in range(messages):
                plan.append(Sent(f"c{n}.{k}", n, "c2a", start + phase + k * interval))
                plan.append(Sent(f"a{n}.{k}", n, "a2c", start + phase + (k + 0.5) * interval))
        plan.sort(key=lambda s: s.due)
        # What one full collection of the set-up costs (what each of the oldest generation's collections would walk
        # during the messages, were it not frozen).
        heap: dict[str, Any] = {"tracked_objects": len(gc.get_objects())}
        t, cpu = time.perf_counter(), time.thread_time()
        gc.collect()
        heap["full_collection_ms"] = round(1000 * (time.perf_counter() - t), 1)
        heap["full_collection_cpu_ms"] = round(1000 * (time.thread_time() - cpu), 1)
        if client_gc == "frozen":
            # The 1,000 customers' sessions, connections and sockets, the 100 desktops and the plan, all made
            # before the messages, out of the collector's passes (as cti does with what it loads at start): a
            # full collection of them stalled this process for hundreds of milliseconds, which every message in
            # flight then counted as its delivery time. The messages' own garbage is still collected as usual.
            gc.freeze()
        before = len(self.received_ids)
        lag = LagProbe()
        lag.start()
        gc_pauses = GcPauses()
        gc_pauses.start()
        # The sends in flight only (a finished one's result is in its Sent): 20,000 finished tasks kept to the
        # end would be walked by every collection of the oldest generation.
        sending: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        for s in plan:
            wait = s.due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            task = loop.create_task(self.send(s))
            sending.add(task)
            task.add_done_callback(sending.discard)
        while sending:
            await asyncio.gather(*sending)
        sent_ok = {s.mid for s in plan if s.status == 201}
        deadline = time.perf_counter() + grace
        while time.perf_counter() < deadline:
            if sent_ok <= set(self.received_ids[before:]):
                break
            await asyncio.sleep(0.1)
        gc_result = gc_pauses.stop()
        late = [max(0.0, s.t0 - s.due) for s in plan]
        return {"event_loop_lag_ms": await lag.stop(), "gc": {**gc_result, "set_up": heap},
                "sends": [[s.mid, s.direction, s.t0, s.t_answer, s.status] for s in plan],
                "received": list(zip(self.received_ids[before:], self.received_t1[before:],
                                     self.received_right[before:], strict=True)), "echoes": self.echoes,
                "send_lateness_ms": summary_ms(late), "errors": dict(self.errors), "closed": dict(self.closed),
                "cpu_s": round(time.process_time(), 2)}

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for session in [*self.customers, *self.agents.values()]:
            if session is not None:
                await session.close()


async def client_worker() -> None:
    """The client process: ``setup``, ``run`` and ``stop`` commands, one JSON line each way."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: Clients | None = None

    def answer(value: Any) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        if command["do"] == "setup":
            clients = Clients(command["base_url"], command["agents"])
            answer(await clients.setup(command["customers"], command["start_rate"], command["timeout"]))
        elif command["do"] == "run":
            assert clients is not None
            answer(await clients.run(command["duration"], command["messages"], command["grace"], command["seed"],
                                     command["client_gc"]))
        elif command["do"] == "stop":
            break
    if clients is not None:
        await clients.close()
    answer({"stopped": True})


class RemoteClients:
    """The client process seen from the benchmark."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT), "--client-worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    async def ask(self, command: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if not line:
            raise RuntimeError(f"the client process ended (exit {self.proc.poll()})")
        return json.loads(line)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ask({"do": "stop"}), 20)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.proc.wait, 10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# == the baseline: a bare relay with the same routes =============================================================

class Relay:
    """cti's chat routes the clients use, and nothing else: a chat goes to the next agent with room (round robin),
    an accept is answered, a message is kept with one XADD and written to both sides' sockets."""

    def __init__(self, redis: str, prefix: str, tokens: dict[str, str], capacity: int) -> None:
        import redis.asyncio as aioredis

        # The same kind of client as cti's chat log (cti.live.ChatStreams): at most 50 connections, waited for.
        self.redis = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
            redis, decode_responses=True, max_connections=50, timeout=2.0))
        self.prefix = prefix
        self.agent_of_token = {f"Bearer {t}": a for a, t in tokens.items()}
        self.slots = itertools.cycle([a for a in tokens for _ in range(capacity)])
        self.secrets: dict[str, str] = {}
        self.chat_agent: dict[str, str] = {}
        self.customer_ws: dict[str, web.WebSocketResponse] = {}
        self.desktops: dict[str, web.WebSocketResponse] = {}
        self.app = web.Application()
        self.app.add_routes([
            web.post("/api/portal/chat", self.start), web.get("/api/portal/chat/ws", self.customer_socket),
            web.post("/api/portal/chat/messages", self.customer_says), web.get("/ws/desktop", self.desktop),
            web.post("/api/chats/{chat_id}/accept", self.accept), web.post("/api/chats/{chat_id}/messages",
                                                                           self.agent_says)])

    def _chat(self, request: web.Request) -> str:
        chat_id, _, secret = request.cookies.get(CHAT_COOKIE, "").partition(".")
        if not secret or self.secrets.get(chat_id) != secret:
            raise web.HTTPNotFound()
        return chat_id

    def _agent(self, request: web.Request) -> str:
        agent = self.agent_of_token.get(request.headers.get("Authorization", ""))
        if agent is None:
            raise web.HTTPUnauthorized()
        return agent

    async def start(self, request: web.Request) -> web.Response:
        await request.json()
        chat_id, secret = f"chat-{secrets.token_hex(16)}", secrets.token_urlsafe(32)
        self.secrets[chat_id] = secret
        agent = self.chat_agent[chat_id] = next(self.slots)
        desktop = self.desktops.get(agent)
        if desktop is not None:
            await desktop.send_str(json.dumps({"type": "chat_offer", "data": {"chat_id": chat_id}}))
        response = web.json_response({"chat_id": chat_id, "state": {"state": "waiting"}}, status=201)
        response.set_cookie(CHAT_COOKIE, f"{chat_id}.{secret}", path="/api/portal/chat", httponly=True)
        return response

    async def customer_socket(self, request: web.Request) -> web.WebSocketResponse:
        chat_id = self._chat(request)
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.customer_ws[chat_id] = ws
        await ws.send_str(json.dumps({"type": "state", "data": {"state": "waiting"}}))
        async for _ in ws:
            pass
        return ws

    async def desktop(self, request: web.Request) -> web.WebSocketResponse:
        agent = self._agent(request)
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.desktops[agent] = ws
        await ws.send_str(json.dumps({"type": "snapshot", "data": {}}))
        async for _ in ws:
            pass
        return ws

    async def accept(self, request: web.Request) -> web.Response:
        agent, chat_id = self._agent(request), request.match_info["chat_id"]
        if self.chat_agent.get(chat_id) != agent:
            raise web.HTTPNotFound()
        return web.json_response({"chat_id": chat_id, "state": "connected"})

    async def _say(self, chat_id: str, sender: str, text: str) -> web.Response:
        message_id = await self.redis.xadd(f"{self.prefix}:relay:{chat_id}", {"m": json.dumps(
            {"sender": sender, "text": text})})
        data = {"id": message_id, "sender": sender, "text": text}
        customer = self.customer_ws.get(chat_id)
        if customer is not None:
            await customer.send_str(json.dumps({"type": "message", "data": data}))
        desktop = self.desktops.get(self.chat_agent[chat_id])
        if desktop is not None:
            await desktop.send_str(json.dumps({"type": "chat_message", "data": {"chat_id": chat_id, **data}}))
        return web.json_response(data, status=201)

    async def customer_says(self, request: web.Request) -> web.Response:
        chat_id = self._chat(request)
        return await self._say(chat_id, "customer", (await request.json())["text"])

    async def agent_says(self, request: web.Request) -> web.Response:
        agent, chat_id = self._agent(request), request.match_info["chat_id"]
        if self.chat_agent.get(chat_id) != agent:
            raise web.HTTPNotFound()
        return await self._say(chat_id, "agent", (await request.json())["text"])

    async def serve(self) -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return runner, f"http://{host}:{port}"

    async def close(self) -> None:
        await self.redis.aclose()


# == measurement ===================================================================================================

def private_redis() -> tuple[str, subprocess.Popen[bytes]]:
    """A throwaway redis-server on a free port (its CPU is the run's own)."""
    url, proc = redis_url(private=True)
    assert proc is not None
    return url, proc


@dataclass
class CpuMeter:
    """CPU cores by consumer: this process (cti or the relay), the clients, Redis, Asterisk and SIPp, the rest."""

    clients: RemoteClients
    redis_pid: int
    asterisk_pid: int = 0
    sipp: Any = None  # () -> CPU seconds of SIPp processes
    start: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        me = os.times()
        return {"server": me.user + me.system, "clients": self.clients.cpu(), "redis": proc_cpu(self.redis_pid),
                "asterisk": proc_cpu(self.asterisk_pid) if self.asterisk_pid else 0.0,
                "sipp": (self.sipp() if self.sipp else 0.0) + me.children_user + me.children_system,
                "machine": machine_busy(), "wall": time.monotonic()}

    def begin(self) -> None:
        self.start = self._sample()

    def result(self) -> dict[str, float]:
        end = self._sample()
        d = {k: end[k] - self.start[k] for k in end}
        wall = d.pop("wall")
        ours = d["server"] + d["clients"] + d["redis"] + d["asterisk"] + d["sipp"]
        d["other"] = max(0.0, d["machine"] - ours)
        return {k: round(v / wall, 2) for k, v in d.items()}


class GcPauses:
    """A process's garbage collections during the messages: how many, the longest (wall time) and their CPU time
    (the thread's, which a busy machine does not inflate), by generation."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.started_cpu = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.cpu: dict[int, float] = {0: 0.0, 1: 0.0, 2: 0.0}

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            self.started_cpu = time.thread_time()
        elif self.started is not None:
            self.pauses[info["generation"]].append(time.perf_counter() - self.started)
            self.cpu[info["generation"]] += time.thread_time() - self.started_cpu
            self.started = None

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> dict[str, Any]:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)
        return {f"gen{g}": {"n": len(v), "max_ms": round(1000 * max(v), 1) if v else None,
                            "total_ms": round(1000 * sum(v), 1), "cpu_ms": round(1000 * self.cpu[g], 1)}
                for g, v in self.pauses.items()}


def analyse(result: dict[str, Any], duration: float) -> dict[str, Any]:
    sends = result["sends"]
    sent_at = {mid: t0 for mid, _, t0, _, status in sends if status == 201}
    direction = {mid: d for mid, d, *_ in sends}
    refused = Counter(str(status) for _, _, _, _, status in sends if status != 201)
    seen: set[str] = set()
    duplicates = wrong = unknown = 0
    delivery: dict[str, list[float]] = {"c2a": [], "a2c": []}
    for mid, t1, right in result["received"]:
        if not right:
            wrong += 1
        if mid in seen:
            duplicates += 1
            continue
        seen.add(mid)
        if mid not in sent_at:
            unknown += 1  # refused by its POST, yet delivered
            continue
        delivery[direction[mid]].append(t1 - sent_at[mid])
    answer = {"c2a": [], "a2c": []}  # type: dict[str, list[float]]
    for _mid, d, t0, t_answer, status in sends:
        if status == 201:
            answer[d].append(t_answer - t0)
    lost = sorted(set(sent_at) - seen)
    both = delivery["c2a"] + delivery["a2c"]
    overall = summary_ms(both)

    def p95(values: list[float]) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return round(1000 * ordered[max(0, -(-95 * len(ordered) // 100) - 1)], 1)

    return {
        "delivery_ms_p99": overall["p99"],
        "lost": len(lost),
        "lost_ids_first": lost[:10],
        "lost_by_direction": dict(Counter(direction[m] for m in lost)),
        "chats_with_lost_messages": len({m[1:].split(".")[0] + m[0] for m in lost}),
        "sent": len(sent_at),
        "received": len(seen),
        "duplicates": duplicates,
        "wrong_socket": wrong,
        "delivered_though_refused": unknown,
        "refused": dict(refused),
        "messages_per_s": round(len(seen) / duration, 1),
        "delivery_ms": {"all": {**overall, "p95": p95(both)},
                        "customer_to_agent": {**summary_ms(delivery["c2a"]), "p95": p95(delivery["c2a"])},
                        "agent_to_customer": {**summary_ms(delivery["a2c"]), "p95": p95(delivery["a2c"])}},
        "post_answer_ms": {"customer": summary_ms(answer["c2a"]), "agent": summary_ms(answer["a2c"])},
        "echoes_on_own_socket": result["echoes"],
        "client_send_lateness_ms": result["send_lateness_ms"],
        "client_event_loop_lag_ms": result["event_loop_lag_ms"],
        "client_gc": result["gc"],
        "client_errors": result["errors"],
        "sockets_closed": result["closed"],
    }


def _cprofile_top(profiler: cProfile.Profile, n: int) -> dict[str, Any]:
    """The event-loop thread's busy time by own time and by code (cti package, library)."""
    stats = pstats.Stats(profiler)
    rows = []
    groups: Counter[str] = Counter()
    busy = 0.0
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == "<method 'poll' of 'select.epoll' objects>":
            continue
        busy += tottime
        path = filename.replace(os.sep, "/")
        if "/site-packages/" in path:
            group = path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        elif "/cti/" in path:
            group = "cti/" + path.split("/cti/", 1)[1].split("/")[0].removesuffix(".py")
        elif path.startswith("~") or path.startswith("<"):
            group = "builtins (C)"
        elif "/lib/python3" in path:
            group = "stdlib/" + path.split("/lib/python3", 1)[1].split("/", 2)[1].removesuffix(".py")
        else:
            group = "other"
        groups[group] += tottime
        rows.append({"function": f"{Path(filename).name}:{line}({func})", "calls": calls,
                     "tottime_s": round(tottime, 4), "cumtime_s": round(cumtime, 4)})
    say(f"cProfile: {busy:.2f} s busy; by code:")
    for name, t in groups.most_common(n):
        say(f"  {t:8.3f} s {100 * t / busy:5.1f} %  {name}")
    by_own = sorted(rows, key=lambda r: -r["tottime_s"])[:n]
    say("top functions by own time:")
    for r in by_own:
        say(f"  {r['tottime_s']:8.3f} s {r['calls']:8d}  {r['function']}")
    by_cum = sorted((r for r in rows if "/cti/" in r["function"] or "cti" in r["function"]),
                    key=lambda r: -r["cumtime_s"])[:n]
    return {"busy_s": round(busy, 2),
            "by_code_pct": {name: round(100 * t / busy, 1) for name, t in groups.most_common(n)},
            "by_own_time": by_own, "by_cumulative_time": by_cum}


async def message_phase(name: str, clients: RemoteClients, meter: CpuMeter, args: argparse.Namespace,
                        profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    say(f"{name}: {args.messages} messages each way per chat over {args.duration:g} s "
        f"({2 * args.customers * args.messages / args.duration:.0f} messages/s)")
    meter.begin()
    lag = LagProbe()
    lag.start()
    gc_pauses = GcPauses()
    gc_pauses.start()
    if profiler is not None:
        profiler.enable()
    try:
        raw = await clients.ask({"do": "run", "duration": args.duration, "messages": args.messages,
                                 "grace": args.grace, "seed": args.seed, "client_gc": args.client_gc})
    finally:
        if profiler is not None:
            profiler.disable()
        gc_result = gc_pauses.stop()
    cpu = meter.result()
    result = analyse(raw, args.duration)
    result["cpu_cores"] = cpu
    result["server_event_loop_lag_ms"] = await lag.stop()
    result["server_gc"] = gc_result
    d = result["delivery_ms"]
    say(f"  {name}: delivered {result['received']}/{result['sent']}, lost {result['lost']}, duplicates "
        f"{result['duplicates']}, wrong socket {result['wrong_socket']}, refused {result['refused']}; "
        f"c->a p50 {d['customer_to_agent']['p50']} p99 {d['customer_to_agent']['p99']} ms, "
        f"a->c p50 {d['agent_to_customer']['p50']} p99 {d['agent_to_customer']['p99']} ms; "
        f"cores: server {cpu['server']}, clients {cpu['clients']}, redis {cpu['redis']}, other {cpu['other']}; "
        f"loop lag max: server {result['server_event_loop_lag_ms']['max']}, clients "
        f"{result['client_event_loop_lag_ms']['max']} ms; gc max ms server "
        f"{[g['max_ms'] for g in result['server_gc'].values()]}, clients "
        f"{[result['client_gc'][g]['max_ms'] for g in ('gen0', 'gen1', 'gen2')]}")
    return result


async def setup_clients(name: str, base_url: str, tokens: dict[str, str], args: argparse.Namespace) -> tuple[
        RemoteClients, dict[str, Any]]:
    clients = RemoteClients()
    say(f"{name}: {len(tokens)} desktops, {args.customers} chats started at {args.start_rate:g}/s")
    ready = await clients.ask({"do": "setup", "base_url": base_url, "agents": tokens, "customers": args.customers,
                               "start_rate": args.start_rate, "timeout": args.accept_timeout})
    say(f"  {name}: {ready['chats_started']} started, {ready['chats_accepted']} accepted in "
        f"{ready['all_accepted_s']} s; errors {ready['errors']}")
    if ready["chats_accepted"] < args.customers:
        say(f"  {name}: only {ready['chats_accepted']} of {args.customers} chats accepted; measuring those")
    return clients, ready


async def baseline(args: argparse.Namespace, redis: str, redis_pid: int, prefix: str) -> dict[str, Any]:
    tokens = {f"relay-{n:03d}": secrets.token_urlsafe(24) for n in range(args.agents)}
    relay = Relay(redis, prefix, tokens, args.capacity)
    runner, base_url = await relay.serve()
    # cti freezes what it loaded at start (create_app: gc.freeze()), so full collections skip it; this process
    # holds the same modules for the relay's phase, which would otherwise pay them in every full collection. The
    # same thresholds as cti's too (GC_THRESHOLDS), so that the two phases differ by what the server does only.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    clients: RemoteClients | None = None
    try:
        clients, ready = await setup_clients("baseline", base_url, tokens, args)
        result = await message_phase("baseline (bare relay)", clients, CpuMeter(clients, redis_pid), args)
        result["setup"] = ready
        return result
    finally:
        if clients is not None:
            await clients.close()
        await runner.cleanup()
        await relay.close()
        gc.set_threshold(*thresholds)


@contextlib.contextmanager
def chat_agents_have_phones(extensions: set[str]) -> Any:
    """The chat agents' extensions exist as far as login is concerned (see the module's docstring)."""
    from cti.telephony import Telephony

    original = Telephony.endpoint_exists

    async def endpoint_exists(self: Any, extension: str) -> bool:
        if extension in extensions:
            return True
        return await original(self, extension)

    Telephony.endpoint_exists = endpoint_exists  # type: ignore[method-assign]
    try:
        yield
    finally:
        Telephony.endpoint_exists = original  # type: ignore[method-assign]


class CtiUnderTest:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.runner: web.AppRunner | None = None
        self.http: ClientSession | None = None
        self.base_url = ""

    async def start(self) -> None:
        self.runner, self.base_url, self.http = await serve_cti(self.settings)

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200,
                  token: str | None = None) -> Any:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with self.http.request(method, self.base_url + path, json=body, headers=headers) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def agents(self, count: int, capacity: int) -> dict[str, str]:
        """``count`` chat-only agents, logged in ready through the API: their tokens."""
        tokens: dict[str, str] = {}
        for n in range(count):
            agent_id = f"chat-{n:03d}"
            created = await self.api("POST", "/api/agents", {
                "agent_id": agent_id, "name": f"Agen {n:03d}",
                "profile": {"capacity": {"voice": 0, "chat": capacity}}}, 201)
            tokens[agent_id] = created["token"]
            await self.api("POST", f"/api/agents/{agent_id}/login",
                           {"extension": str(FIRST_EXTENSION + n), "ready": True}, token=created["token"])
        return tokens

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


# == calls alongside (--with-calls) ================================================================================

class CallsAlongside:
    """bench/callpath.py's cti path, run while the chats' messages flow: SIPp agent phones on 7001.. logged in
    ready in cti, one SIPp caller at ``rate`` for the message phase; bridged and latency as callpath measures."""

    def __init__(self, args: argparse.Namespace, settings: Any) -> None:
        from bench import callpath

        self.callpath = callpath
        self.args = args
        self.settings = settings
        self.root: Any = None
        self.bench: Any = None
        self.lock_wait = 0.0
        self.version = "unknown"

    async def start_asterisk(self) -> None:
        from bench._harness import acquire_root
        from cti.asterisk._provision import CONF_DIRS

        self.root, self.lock_wait = await acquire_root(self.settings, say)
        if self.root.pid() is not None:
            await asyncio.to_thread(self.root.stop)  # stale: whoever started it no longer holds the lock
        await asyncio.to_thread(self.root.install_config, self.settings, CONF_DIRS)
        await asyncio.to_thread(self.root.start, self.settings)
        shown = await asyncio.to_thread(self.root.cli, "core show version")
        match = re.search(r"Asterisk (\d+\.\d+\.\d+)", shown)
        self.version = match.group(1) if match else "unknown"
        ns = argparse.Namespace(ring_ms=self.args.ring_ms, keep_logs=False)
        self.bench = self.callpath.Bench(ns, self.settings, self.root)
        await self.bench.observer.start()  # "bridged" is what Asterisk reports, as in callpath.py
        say(f"Asterisk {self.version} up")

    async def voice_agents(self, cti: CtiUnderTest) -> list[str]:
        """The phones (SIPp) and their agents in cti, logged in ready."""
        self.bench.runner, self.bench.base_url, self.bench.http = cti.runner, cti.base_url, cti.http
        extensions: list[str] = await self.bench.ensure_agents(self.args.call_agents, self.args.talk_ms)
        for ext in extensions:
            await cti.api("POST", "/api/agents", {"agent_id": f"bench-{ext}", "name": f"Bench agent {ext}"}, 201)
            await cti.api("POST", f"/api/agents/bench-{ext}/login", {"extension": ext, "ready": True})
        return extensions

    def sipp_cpu(self) -> float:
        return sum(a.cpu_seconds() for a in self.bench.agents)

    async def calls(self, duration: float) -> dict[str, Any]:
        """Calls at ``--call-rate`` for ``duration`` seconds, then their analysis as callpath's phases have it."""
        calls = max(1, round(self.args.call_rate * duration))
        prefix = "0290019"
        marks = [len(a.read_events()) for a in self.bench.agents]
        before = Counter(self.bench.running.counters)
        caller = self.callpath.start_caller(self.callpath.CTI_SERVICE, prefix, calls=calls, rate=self.args.call_rate,
                                            duration_ms=self.args.caller_ms)
        started = time.monotonic()
        try:
            limit = calls / self.args.call_rate + self.args.caller_ms / 1000 + 60
            while caller.running and time.monotonic() - started < limit:  # noqa: ASYNC110
                await asyncio.sleep(0.25)
            events = caller.read_events()
        finally:
            caller.stop()
        await self.bench.settle()
        result: dict[str, Any] = self.bench._analyse(prefix, events, marks, calls)
        result.update({"rate": self.args.call_rate, "agents": self.args.call_agents, "talk_ms": self.args.talk_ms,
                       "server": await self.bench._cti_books(prefix, before)})
        finished: dict[str, Any] = self.callpath.finish_phase(result)
        lat = finished["latency_ms"]
        say(f"  calls: bridged {finished['bridged']}/{calls}, latency p50 {lat['p50']} p99 {lat['p99']} ms")
        return finished

    async def stop(self) -> None:
        if self.bench is not None:
            self.bench.stop_agents()
            with contextlib.suppress(Exception):
                await self.bench.observer.stop()
        if self.root is not None:
            await asyncio.to_thread(self.root.stop)


# == the run =======================================================================================================

async def run(args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.monotonic()
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    redis, redis_proc = private_redis()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-chat-"))
    (tmp / "sounds").mkdir()
    # The virtual agent (on by default) answers every chat first and hands it to a person only when asked: the
    # benchmark measures customer <-> agent, so chats go straight to the queues, as they did before it existed.
    overrides: dict[str, Any] = {"recording_dir": tmp / "recordings", "chat_bot": False}
    if args.with_calls:
        overrides["sim_agents"] = max(50, args.call_agents)
    else:
        # No Asterisk: ARI at a port nothing listens on (cti retries in the background); prompts in a folder of
        # the run's own, not the shared Asterisk root's.
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        overrides.update(ari_url=f"http://127.0.0.1:{closed_port}", sounds_dir=tmp / "sounds")
        logging.getLogger("cti.ari").setLevel(logging.ERROR)
    settings = bench_settings(redis, tmp, ASTERISK_ROOT, **overrides)
    calls = CallsAlongside(args, settings) if args.with_calls else None
    out: dict[str, Any] = {"benchmark": "chat"}
    cti = CtiUnderTest(settings)
    clients: RemoteClients | None = None
    extensions = {str(FIRST_EXTENSION + n) for n in range(args.agents)}
    try:
        base = await baseline(args, redis, redis_proc.pid, settings.redis_prefix) if not args.no_baseline else None
        if args.baseline_only:
            out.update({"baseline": base, "baseline_only": True, "customers": args.customers, "agents": args.agents,
                        "offered_messages_per_s": round(2 * args.customers * args.messages / args.duration, 1),
                        "client_gc": args.client_gc, "seed": args.seed, "machine": machine(loadavg_start)})
            return out
        if calls is not None:
            await calls.start_asterisk()
        with chat_agents_have_phones(extensions):
            await cti.start()
            say(f"cti up at {cti.base_url}; creating {args.agents} agents with chat capacity {args.capacity}")
            tokens = await cti.agents(args.agents, args.capacity)
            voice = await calls.voice_agents(cti) if calls is not None else []
            if voice:
                say(f"  {len(voice)} voice agents with SIPp phones logged in")
            setup_profiler = cProfile.Profile() if args.cprofile_setup else None
            if setup_profiler is not None:
                setup_profiler.enable()
            try:
                clients, ready = await setup_clients("cti", cti.base_url, tokens, args)
            finally:
                if setup_profiler is not None:
                    setup_profiler.disable()
            if setup_profiler is not None:
                out["cprofile_setup_top"] = _cprofile_top(setup_profiler, args.cprofile_setup)
            meter = CpuMeter(clients, redis_proc.pid)
            if calls is not None:
                meter.asterisk_pid = calls.root.pid() or 0
                meter.sipp = calls.sipp_cpu
            profiler = cProfile.Profile() if args.cprofile else None
            call_task = asyncio.create_task(calls.calls(args.duration)) if calls is not None else None
            measured = await message_phase("cti", clients, meter, args, profiler)
            call_result = await call_task if call_task is not None else None
            measured["setup"] = ready
            running = cti.runner.app  # type: ignore[union-attr]
            from cti.bootstrap import RUNNING
            from cti.web import CHATS

            live = running[RUNNING].distributor.query
            measured["server"] = {
                "chats_live": sum(1 for c in live.calls() if c.channel.value == "chat"),
                "chat_sessions": len(running[CHATS]._channel.sessions),
            }
        out.update({
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": bool(measured["delivery_ms_p99"] is not None
                                 and measured["delivery_ms_p99"] < TARGET_P99_MS and measured["lost"] == 0
                                 and measured["duplicates"] == 0),
            "delivery_ms_p99": measured["delivery_ms_p99"],
            "lost": measured["lost"],
            "customers": args.customers, "agents": args.agents, "capacity": args.capacity,
            "messages_each_way_per_chat": args.messages, "duration_s": args.duration, "grace_s": args.grace,
            "offered_messages_per_s": round(2 * args.customers * args.messages / args.duration, 1),
            "cti": measured,
            "baseline": base,
            "p99_over_baseline": (round(measured["delivery_ms_p99"] / base["delivery_ms_p99"], 2)
                                  if base and base["delivery_ms_p99"] and measured["delivery_ms_p99"] else None),
            "with_calls": call_result,
            "seed": args.seed,
            "client_gc": args.client_gc,
            "machine": machine(loadavg_start),
            "method": (
                "Clients (customers and agents) in one other process; cti (or the baseline relay) in this one; "
                "a private redis-server. t0 = the sender's client just before its POST (customer: POST "
                "/api/portal/chat/messages; agent: POST /api/chats/{id}/messages), t1 = the other side's socket "
                "receives the frame with that message's id (customer: 'message' on /api/portal/chat/ws; agent: "
                "'chat_message' on /ws/desktop); both clocks perf_counter in the client process. sent = POSTs "
                "answered 201; lost = sent ids never received on the other side within the grace period. "
                "Baseline: a bare aiohttp relay with the same routes (one XADD per message, frames to both "
                "sockets), same client process and load, same run."),
        })
        if profiler is not None:
            out["cprofile_top"] = _cprofile_top(profiler, args.cprofile)
        if calls is not None:
            out["asterisk"] = calls.version
            out["waited_for_asterisk_root_s"] = round(calls.lock_wait, 1)
    finally:
        say("cleaning up")
        if clients is not None:
            await clients.close()
        with contextlib.suppress(Exception):
            await cti.stop()
        if calls is not None:
            await calls.stop()
        with contextlib.suppress(Exception):
            await drop_redis_keys(redis, settings.redis_prefix)
        redis_proc.terminate()
        redis_proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
        out["run_s"] = round(time.monotonic() - t_start, 1)
    return out


def machine(loadavg_start: list[float]) -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": loadavg_start, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--customers", type=int, default=1000, help="chats, one customer each")
    p.add_argument("--agents", type=int, default=100, help="agents taking chats")
    p.add_argument("--capacity", type=int, default=10, help="chats an agent holds at once")
    p.add_argument("--messages", type=int, default=10, help="messages each way per chat")
    p.add_argument("--duration", type=float, default=45, help="seconds over which the messages are sent")
    p.add_argument("--grace", type=float, default=5, help="seconds to wait for the last deliveries")
    p.add_argument("--start-rate", type=float, default=100, help="chats started per second")
    p.add_argument("--accept-timeout", type=float, default=60, help="seconds for every chat to be accepted")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-baseline", action="store_true", help="skip the bare relay's phase")
    p.add_argument("--baseline-only", action="store_true", help="only the bare relay's phase (to check the harness)")
    p.add_argument("--client-gc", choices=("frozen", "default"), default="frozen",
                   help="the client process's collector during the messages (see docs/benchmarks.md)")
    p.add_argument("--cprofile", type=int, default=0, metavar="N",
                   help="cProfile cti's event loop during the messages; report the top N functions")
    p.add_argument("--cprofile-setup", type=int, default=0, metavar="N",
                   help="cProfile cti's event loop while the chats start and are accepted; the top N functions")
    p.add_argument("--with-calls", action="store_true",
                   help="calls through Asterisk and cti during cti's message phase (takes the Asterisk root)")
    p.add_argument("--call-rate", type=float, default=5, help="with --with-calls: calls per second")
    p.add_argument("--call-agents", type=int, default=20, help="with --with-calls: SIPp agent phones")
    p.add_argument("--ring-ms", type=int, default=100, help="with --with-calls: phones ring this long")
    p.add_argument("--talk-ms", type=int, default=2000, help="with --with-calls: phones hang up after this long")
    p.add_argument("--caller-ms", type=int, default=30000, help="with --with-calls: a caller gives up after this")
    p.add_argument("--quick", action="store_true", help="smoke run: 100 customers, 10 agents, 20 s of messages")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    p.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.customers, args.agents, args.duration = min(args.customers, 100), min(args.agents, 10), 20.0
    if args.customers > args.agents * args.capacity:
        p.error("--customers must be at most --agents x --capacity (every chat is accepted)")
    if args.customers > 250 * 250:
        p.error("at most 62,500 customers (one loopback address each)")
    if args.duration / args.messages < 0.5:
        p.error("a customer may send at most 20 messages in 10 s: --duration / --messages must be 0.5 s or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client_worker:
        asyncio.run(client_worker())
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(json.dumps(asyncio.run(run(args)), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
