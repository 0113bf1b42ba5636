"""The ARI events websocket, kept connected for as long as cti runs.

Asterisk does not queue events for a disconnected application: whatever happened while the socket was
down is gone. So every (re)connect first runs ``on_connect`` -- where the controller resyncs from
``GET /channels`` and ``GET /bridges`` -- and only then reads further events, which Asterisk buffers in
the socket meanwhile. Events are handed to an ``OrderedDispatcher`` lane by ``event.key``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp
import yarl

from cti.ari._client import normalize_base_url
from cti.ari._dispatch import OrderedDispatcher
from cti.ari._errors import AriError
from cti.ari._events import Event, parse_event

__all__ = ["EventHandler", "EventStream", "events_url"]

logger = logging.getLogger("cti.ari")

EventHandler = Callable[[Event], Awaitable[None]]

# How long a reconnect waits for handlers of the previous connection's events before resyncing anyway;
# bounded so one stuck handler cannot keep cti deaf forever.
_RESYNC_DRAIN_TIMEOUT = 30.0


def events_url(base_url: str, app: str) -> yarl.URL:
    """``http://host:8088`` -> ``ws://host:8088/ari/events?app=<app>&subscribeAll=false`` (https -> wss)."""
    url = yarl.URL(normalize_base_url(base_url) + "/ari/events")
    scheme = {"http": "ws", "https": "wss"}.get(url.scheme, url.scheme)
    return url.with_scheme(scheme).with_query({"app": app, "subscribeAll": "false"})


class EventStream:
    """Reads ARI events for one app and dispatches them, reconnecting with backoff until ``stop()``."""

    HANDLED = ("ApplicationReplaced",)  # event types the stream acts on itself, whatever its handler wants

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        handler: EventHandler,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        heartbeat: float = 10.0,
        connect_timeout: float = 10.0,
        may_connect: Callable[[], bool] | None = None,
    ) -> None:
        """``may_connect``, with standby controllers, says whether this controller leads now: asked before every
        connection, since connecting registers the app in Asterisk, which then sends its events here and no
        longer to the leader (a deposed controller whose socket dropped while it was frozen would steal them)."""
        self.url = events_url(base_url, app)
        self._may_connect = may_connect
        self.app = app
        self._auth_header = aiohttp.encode_basic_auth(user, password)
        self._handler = handler
        self._on_connect = on_connect
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._connected = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._dispatcher = OrderedDispatcher()
        self._drain_timeout = 5.0
        # Counters for /metrics.
        self.connects = 0
        self.reconnects = 0
        self.received_types: Counter[str] = Counter()  # what Asterisk sent, by type (its filter's effect)
        self.frames_invalid = 0

    @property
    def is_connected(self) -> bool:
        """Connected, ``on_connect`` done, events flowing."""
        return self._connected.is_set()

    @property
    def events_received(self) -> int:
        """Valid events read, of every type."""
        return sum(self.received_types.values())

    @property
    def dispatcher(self) -> OrderedDispatcher:
        return self._dispatcher

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """True once connected (and ``on_connect`` has run); False if ``timeout`` seconds pass first."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Connect, dispatch and reconnect until ``stop()``; returns normally after ``stop()``."""
        if self._run_task is not None:
            raise RuntimeError("EventStream.run() is already running or has run")
        task = self._run_task = asyncio.current_task()
        # Bound only the handshake: aiohttp lifts sock_read after the upgrade; the heartbeat covers the rest.
        limit = self._connect_timeout
        timeout = aiohttp.ClientTimeout(total=None, connect=limit, sock_read=limit)
        session = aiohttp.ClientSession(headers={"Authorization": self._auth_header}, timeout=timeout)
        try:
            await self._loop(session)
        except asyncio.CancelledError:
            # stop() cancels us to interrupt a connect or on_connect; anyone else's cancel propagates.
            if not self._stop_requested.is_set() or task is None:
                raise
            task.uncancel()
        finally:
            self._connected.clear()
            if self._ws is not None:
                await self._ws.close()
                self._ws = None
            await session.close()
            if self._stop_requested.is_set():
                await self._drain(self._drain_timeout)
            await self._dispatcher.close()

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Close the socket, let already received events finish (up to ``drain_timeout``), then stop."""
        first = not self._stop_requested.is_set()
        self._drain_timeout = drain_timeout
        self._stop_requested.set()
        task = self._run_task
        if task is None:
            await self._dispatcher.close()
            return
        if task.done():
            return
        if task is asyncio.current_task():
            # Called from on_connect: the loop sees the flag once the socket is closed.
            if self._ws is not None:
                await self._ws.close()
            return
        if first:
            task.cancel()
        if self._dispatcher.in_job():
            # A handler is stopping us; waiting for run() would wait for the drain, i.e. for ourselves.
            return
        await asyncio.wait([task])

    async def _loop(self, session: aiohttp.ClientSession) -> None:
        delay = self._backoff_initial
        while not self._stop_requested.is_set():
            if self._may_connect is not None and not self._may_connect():
                logger.error("ARI events: not connecting, this controller does not lead")
                await self._backoff(delay)
                delay = min(delay * 2, self._backoff_max)
                continue
            try:
                ws = await session.ws_connect(self.url, heartbeat=self._heartbeat)
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("ARI events: cannot connect to %s: %s", self.url.with_query(None), exc)
                await self._backoff(delay)
                delay = min(delay * 2, self._backoff_max)
                continue
            self._ws = ws
            try:
                if await self._connected_session(ws):
                    delay = self._backoff_initial
            finally:
                self._connected.clear()
                self._ws = None
                await ws.close()
            if not self._stop_requested.is_set():
                logger.warning("ARI events: connection lost, reconnecting")
                await self._backoff(delay)
                delay = min(delay * 2, self._backoff_max)

    async def _connected_session(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Resync then read until the socket ends; False if ``on_connect`` failed."""
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1
        # Finish handling what the previous connection delivered, so on_connect resyncs on top of it
        # rather than racing it.
        await self._drain(_RESYNC_DRAIN_TIMEOUT)
        if self._on_connect is not None:
            try:
                await self._on_connect()
            except Exception:
                # Dispatching on state we failed to resync would act on stale calls; retry the connection.
                logger.exception("ARI events: on_connect failed; reconnecting")
                return False
        if self._stop_requested.is_set():
            return True
        self._connected.set()
        logger.info("ARI events: connected to %s (app %s)", self.url.with_query(None), self.app)
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._handle_text(msg.data)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    logger.warning("ARI events: websocket error: %s", ws.exception())
                    break
                else:
                    logger.warning("ARI events: ignoring %s frame", msg.type.name)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("ARI events: read failed: %s", exc)
        return True

    def _handle_text(self, data: str) -> None:
        try:
            event = parse_event(json.loads(data))
        except (ValueError, AriError) as exc:
            # One bad frame must not cost us the connection (and the events behind it).
            self.frames_invalid += 1
            logger.warning("ARI events: skipping invalid frame (%s): %.200r", exc, data)
            return
        self.received_types[event.type] += 1
        if event.type == "ApplicationReplaced":
            # Another connection registered our app name; Asterisk now sends it our events and this socket
            # goes quiet. Reconnecting would steal them back and start a fight, so only shout.
            logger.error("ARI events: app %s was taken over by another connection", self.app)
        self._dispatcher.submit(event.key, functools.partial(self._handler, event))

    async def _backoff(self, delay: float) -> None:
        # Jitter spreads reconnects of several controllers after an Asterisk restart.
        pause = random.uniform(delay / 2, delay)
        try:
            await asyncio.wait_for(self._stop_requested.wait(), pause)
        except TimeoutError:
            pass

    async def _drain(self, limit: float | None) -> None:
        try:
            await asyncio.wait_for(self._dispatcher.drain(), limit)
        except TimeoutError:
            pending = self._dispatcher.pending
            logger.warning("ARI events: %d handler jobs still pending after %ss", pending, limit)
