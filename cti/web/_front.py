"""A web front end (``cti front``; docs/scaling.md, *Web front ends*): the pages' live websockets served here
from the leader's frame stream, everything else forwarded to the leader.

- **Frames.** :class:`FrontEnd` reads the leader's frame stream (one Redis stream, :class:`cti.live.FrameStream`)
  from where it last was and republishes each frame into its own :class:`Hub` under the leader's topic and number
  (:meth:`Hub.relay`): ``?since=`` means the same on every front end, so a page whose front end died reconnects
  through the load balancer to another and is replayed exactly what it missed. A frame of a newer term (a new
  leader numbers afresh) empties every topic and sends the pages to a fresh snapshot (:meth:`Hub.reset`); an
  older term's frames are ignored.
- **Who may see what** is decided by the leader: a page's socket starts with ``GET /api/live/snapshot`` there, with
  the page's own credentials (its token, or its ticket in a header), answered as the websocket would be, with
  the snapshot and the number it stands at, and a grant the front end renews while the page is connected
  (:mod:`cti.web._live`); the leader's answer to a renewal closes the sockets whose owner may no longer see them.
  The front end holds no credential and no database.
- **Everything else** (the REST API, the other websockets: the browser phone, chats) is forwarded to the leader
  as it came, to the address the leader advertises in Redis: one writer. The static pages are served here.
- ``/healthz``: 200 while Redis answers and a leader advertises itself, else 503 (the load balancer takes the front
  end out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import WSMsgType, web

from cti.errors import Unavailable
from cti.tasks import stop_task
from cti.web._auth import TICKET_HEADER
from cti.web._sockets import RENEW_EVERY, AtSeq, FrameError, Hub

__all__ = ["FRONT", "FrameSource", "FrontEnd", "LeaderAddress", "RelayedEntry", "forward", "front_routes"]

log = logging.getLogger("cti.web.front")

HOP_BY_HOP: Final = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                               "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
RETRY: Final = 0.5
LEADER_TIMEOUT: Final = aiohttp.ClientTimeout(total=15, connect=2)
"""A forwarded request's whole time (a report may take seconds); connecting to the leader, 2 s."""
GRANTS_PER_RENEWAL: Final = 500
"""Grants (renewed and given back together) in one ``POST /api/live/grants``: a grant is 43 characters, 47 bytes in
the body, so 500 make about 24 KB, well under what the leader reads (:data:`cti.web.MAX_BODY`, 64 KiB). A front end
with 2,500 pages sent them in one 117 KB body, refused (413): ten seconds later the leader counted none of them and
published nothing more to their topics."""


class RelayedEntry(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def term(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def topic(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def text(self) -> str: ...


class LeaderAddress(Protocol):
    async def leader(self) -> tuple[str, int] | None: ...


class FrameSource(LeaderAddress, Protocol):
    """The leader's frame stream: batches after an entry id; :class:`cti.errors.Unavailable` when it is away."""

    def read(self, after: str) -> AsyncIterator[list[Any]]: ...


class FrontEnd:
    def __init__(self, hub: Hub, source: FrameSource, *, timeout: aiohttp.ClientTimeout = LEADER_TIMEOUT) -> None:
        self.hub = hub
        self._source = source
        self._timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        self.term: int | None = None
        self.after = "0-0"
        """The last stream entry read: a reconnect to Redis reads on from there."""
        self.leader_url: str | None = None
        self.stream_up = False
        self.relayed = 0
        self.resets = 0
        self._grants: dict[str, web.WebSocketResponse] = {}
        self._released: set[str] = set()
        self._renewal_refused = False
        self._closing: set[asyncio.Task[bool]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def http(self) -> aiohttp.ClientSession:
        """The client to the leader (while the front end runs)."""
        if self._http is None:
            raise web.HTTPServiceUnavailable(reason="starting")
        return self._http

    @property
    def healthy(self) -> bool:
        return self.stream_up and self.leader_url is not None

    def start(self) -> None:
        # Redirects, cookies and encodings are the client's business: the front end passes them on untouched.
        self._http = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False,
                                           cookie_jar=aiohttp.DummyCookieJar())
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read(), name="cti-front-read"),
                       loop.create_task(self._watch(), name="cti-front-watch")]

    async def close(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []
        for closing in list(self._closing):
            await stop_task(closing)
        await self.hub.close()
        if self._http is not None:
            await self._http.close()

    # -- the stream ------------------------------------------------------------------------------------------
    def apply(self, entries: list[RelayedEntry]) -> None:
        """The stream's entries, in order, into the hub."""
        for entry in entries:
            self.after = entry.id
            if not self.adopt(entry.term):
                continue
            if entry.kind == "frame":
                if self.hub.relay(entry.topic, entry.seq, entry.type, entry.text):
                    self.relayed += 1
            elif entry.kind == "flush":
                self.hub.flush(entry.topic.split("\n"))

    def adopt(self, term: int) -> bool:
        """Whether ``term`` is the current one (a newer one becomes it: every topic starts over)."""
        if self.term is not None and term < self.term:
            return False
        if self.term is not None and term > self.term:
            closed = self.hub.reset()
            self.resets += 1
            log.warning("a new leader's term %d: %d page(s) start again from a snapshot", term, closed)
        self.term = term
        return True

    async def _read(self) -> None:
        while True:
            try:
                async for batch in self._source.read(self.after):
                    self.stream_up = True
                    self.apply(batch)
            except Unavailable as exc:
                if self.stream_up:
                    log.warning("the frame stream is away; reading on from %s when it returns: %s", self.after, exc)
                self.stream_up = False
            await asyncio.sleep(RETRY)

    # -- the leader ------------------------------------------------------------------------------------------
    async def _watch(self) -> None:
        while True:
            try:
                found = await self._source.leader()
            except Unavailable:
                found = None
            # A new leader that has published nothing yet: the pages start over all the same (its numbers do). An
            # older term's advertisement (a deposed leader's, written in its last instant) is not followed.
            if found is None:
                self.leader_url = None
            elif self.adopt(found[1]):
                self.leader_url = found[0]
            if self.leader_url is not None and (self._grants or self._released):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    await self._renew(self.leader_url)
            await asyncio.sleep(RENEW_EVERY)

    async def _renew(self, leader: str) -> None:
        """Every grant held renewed, every one given back said so, :data:`GRANTS_PER_RENEWAL` a request; the sockets
        the leader answers to close, closed. A refusal stops the round (the next one, 2 s later, starts over) and is
        said once: a grant not renewed within :data:`cti.web._sockets.LENT_TTL` ends at the leader, which then
        stops publishing to a topic it thinks nobody watches while the page stays open."""
        renew, released = sorted(self._grants), sorted(self._released)
        for start in range(0, len(renew) + len(released), GRANTS_PER_RENEWAL):
            end = start + GRANTS_PER_RENEWAL
            body = {"renew": renew[start:end], "release": released[max(0, start - len(renew)):max(0, end - len(renew))]}
            async with self.http.post(f"{leader}/api/live/grants", json=body) as response:
                if response.status != 200:
                    if not self._renewal_refused:
                        log.warning("the leader refused the renewal of %d grant(s): HTTP %d %s; their pages get no "
                                    "frames once the leader lets the grants lapse", len(renew), response.status,
                                    response.reason)
                    self._renewal_refused = True
                    return
                answer = await response.json()
            self._released.difference_update(body["release"])
            for grant, why in answer.get("closed", {}).items():
                ws = self._grants.pop(grant, None)
                if ws is not None and not ws.closed:
                    # Not awaited here: each close waits for the page's answer (up to 10 s), and a round that closed
                    # a thousand pages one after the other renewed nobody else's grants meanwhile: they lapsed too.
                    task = asyncio.get_running_loop().create_task(
                        ws.close(code=int(why["code"]), message=str(why["reason"]).encode()))
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
        self._renewal_refused = False

    def held(self, grant: str, ws: web.WebSocketResponse) -> None:
        self._grants[grant] = ws

    def release(self, grant: str) -> None:
        if self._grants.pop(grant, None) is not None:
            self._released.add(grant)


FRONT = web.AppKey("front_end", FrontEnd)


def front_routes(front: FrontEnd) -> web.RouteTableDef:
    """The front end's own routes; the static pages and the forwarding catch-all are added by the caller."""
    routes = web.RouteTableDef()

    @routes.get("/healthz")
    async def healthz(request: web.Request) -> web.Response:
        body = {"status": "ok" if front.healthy else "degraded", "role": "front_end", "term": front.term,
                "components": {"redis": front.stream_up, "leader": front.leader_url is not None}}
        return web.json_response(body, status=200 if front.healthy else 503)

    @routes.get("/ws/desktop")
    async def desktop(request: web.Request) -> web.StreamResponse:
        return await _relayed(request, front, "desktop")

    @routes.get("/ws/dashboard")
    async def dashboard(request: web.Request) -> web.StreamResponse:
        return await _relayed(request, front, "dashboard")

    return routes


def _forward_headers(request: web.Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    client = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {client}" if prior else client
    return headers


async def _relayed(request: web.Request, front: FrontEnd, socket: str) -> web.StreamResponse:
    leader = front.leader_url
    if leader is None or not front.stream_up:
        raise web.HTTPServiceUnavailable(reason="no leader or no frame stream; try another front end")
    if "token" in request.query:
        raise web.HTTPUnauthorized(reason="a token in the URL is refused: get a ticket from POST /api/ws-tickets "
                                          "and open the socket with ?ticket=")
    headers = {"X-Forwarded-For": _forward_headers(request)["X-Forwarded-For"]}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    if "ticket" in request.query:
        headers[TICKET_HEADER] = request.query["ticket"]
    params = {"socket": socket}
    if "agent_id" in request.query:
        params["agent_id"] = request.query["agent_id"]
    try:
        async with front.http.get(f"{leader}/api/live/snapshot", params=params, headers=headers) as response:
            text = await response.text()
            if response.status != 200:
                return web.Response(status=response.status, text=text, content_type="application/json",
                                    headers={k: v for k, v in response.headers.items()
                                             if k in ("WWW-Authenticate", "Retry-After")})
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise web.HTTPServiceUnavailable(reason="the leader did not answer; try again") from exc
    answer = json.loads(text)
    term, grant, topic = answer["term"], str(answer["grant"]), str(answer["topic"])
    if term is None or not front.adopt(int(term)):
        front.release(grant)
        raise web.HTTPServiceUnavailable(reason="the leader is changing; try again")
    state = AtSeq(int(answer["seq"]), answer["snapshot"])
    on_frame = _desktop_frames(front, leader, grant) if socket == "desktop" else None

    async def snapshot() -> AtSeq:
        return state

    def opened(ws: web.WebSocketResponse) -> None:
        front.held(grant, ws)

    try:
        return await front.hub.serve(request, topic, snapshot, on_frame, opened=opened)
    finally:
        front.release(grant)


def _desktop_frames(front: FrontEnd, leader: str,
                    grant: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]:
    async def on_frame(frame: dict[str, Any]) -> dict[str, Any] | None:
        try:
            async with front.http.post(f"{leader}/api/live/frame", json={"grant": grant, "frame": frame}) as response:
                answer = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise FrameError("the leader did not answer; send it again", "unavailable") from exc
        if "error" in answer and isinstance(answer["error"], dict):
            raise FrameError(str(answer["error"].get("message")), str(answer["error"].get("code", "bad_frame")))
        reply: dict[str, Any] | None = answer.get("reply")
        return reply

    return on_frame


async def forward(request: web.Request) -> web.StreamResponse:
    """Any other request, to the leader as it came (a websocket: both ways until either side closes)."""
    front = request.app[FRONT]
    leader = front.leader_url
    if leader is None:
        raise web.HTTPServiceUnavailable(reason="no leader; try again")
    url = f"{leader}{request.rel_url}"
    headers = _forward_headers(request)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _forward_socket(request, front, url, headers)
    try:
        async with front.http.request(request.method, url, headers=headers, data=await request.read(),
                                      allow_redirects=False) as response:
            body = await response.read()
            out = web.Response(status=response.status, body=body)
            for key, value in response.headers.items():
                if key.lower() not in HOP_BY_HOP:  # the body as the leader encoded it, with its encoding
                    out.headers.add(key, value)
            return out
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise web.HTTPBadGateway(reason="the leader did not answer") from exc


async def _forward_socket(request: web.Request, front: FrontEnd, url: str,
                          headers: dict[str, str]) -> web.StreamResponse:
    for key in ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"):
        headers.pop(key, None)
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    headers.pop("Sec-WebSocket-Protocol", None)
    try:
        upstream = await front.http.ws_connect(url.replace("http", "ws", 1), headers=headers, protocols=protocols,
                                               autoping=True, heartbeat=20.0)
    except aiohttp.WSServerHandshakeError as exc:  # the leader refused it (401, 404...): the client hears why
        raise _status(exc.status or 502, exc.message) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise web.HTTPBadGateway(reason="the leader did not answer") from exc
    ws = web.WebSocketResponse(protocols=protocols, heartbeat=20.0)
    await ws.prepare(request)

    async def pump(source: Any, sink: Any) -> None:
        async for message in source:
            if message.type is WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            else:
                break

    try:
        tasks = [asyncio.ensure_future(pump(upstream, ws)), asyncio.ensure_future(pump(ws, upstream))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
    finally:
        code = upstream.close_code or 1000
        await upstream.close()
        await ws.close(code=code)
    return ws


def _status(status: int, reason: str) -> web.HTTPException:
    error = web.HTTPException(reason=reason)
    error.set_status(status, reason)
    return error

