"""Websocket fan-out for the pages: numbered frames per topic, replay on reconnect, back-pressure.

Every frame a topic publishes gets the next sequence number of that topic and is kept in a short replay
buffer. A page that reconnects says the last number it saw (``?since=``): if the buffer still holds what
followed, those frames are replayed; otherwise (or on a first connect) it gets a ``snapshot`` frame with
the current state, numbered like the frame it stands in for. So a page never misses a change silently.

Each socket has a bounded send queue drained by its own task: a slow or stalled browser never delays a
publisher or the other sockets. One that falls too far behind is closed with 1013 (try again later) and
resyncs from a snapshot when it reconnects.

A frame is serialised and encoded once, however many sockets receive it, as the websocket frame itself (the
RFC 6455 header and the text: the sockets are unmasked and uncompressed, so those bytes are the same for every
socket), and the replay buffer keeps only those bytes. A socket's task takes every frame queued when it wakes
(up to :data:`BATCH_FRAMES` frames or :data:`BATCH_BYTES` bytes) and writes them, still one websocket message
each, in one write to the connection: one ``send`` system call and one task wake-up for the lot rather than one
per frame, which is what a front end fanning out to thousands of pages spent most of its time on (issue 21,
docs/benchmarks.md, *Cheaper fan-out*). After each write it waits while the connection's buffer is above its
high-water mark, so a slow page's frames wait in its bounded queue, not in memory without bound. The catch-up
(replayed frames) is written the same way.

A publisher that already has its data as JSON text (the dashboard assembles its frames from pieces serialised
once per cycle) uses :meth:`Hub.publish_json`, and a snapshot function may return :class:`RawJson`.

Frames from the page are JSON objects with a ``type``; anything else (JSON nested too deep too) gets an
``error`` frame and the socket stays open (a buggy page must not lose its live view). A frame over
:data:`MAX_FRAME` bytes closes the socket with 1009 (message too big): nothing a page sends comes near it.

Each socket remembers the user who opened it, so that a user whose token stops working (rotated, disabled,
deleted, expired) loses their live views at once: :meth:`Hub.disconnect` closes them with 1008 (policy
violation) and the reason, and the pages do not reconnect after that code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import struct
import time
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from cti.records import UserRecord
from cti.web._bodies import JsonTooDeep, decode_json
from cti.web._params import IntParam

__all__ = ["BATCH_BYTES", "BATCH_FRAMES", "CLOSE_RECONNECT", "HEARTBEAT", "LENT_TTL", "LOST_NOTE_EVERY", "MAX_FRAME",
           "RENEW_EVERY", "SINCE", "AtSeq", "Frame", "FrameError", "FrameHandler", "FrameTap", "Hub", "RawJson",
           "SnapshotFn", "Topic", "text_frame"]

log = logging.getLogger("cti.web.sockets")

REPLAY: Final = 256
SEND_QUEUE: Final = 512
BATCH_FRAMES: Final = 64
BATCH_BYTES: Final = 256 * 1024
"""A socket's write takes at most this many queued frames, or stops at the first frame past this many bytes."""
CLOSE_REVOKED: Final = WSCloseCode.POLICY_VIOLATION
"""The owner's token stopped working; the page must not reconnect with it."""
CLOSE_RECONNECT: Final = 4001
"""What the owner may see changed (their scope): the page reconnects at once and starts from a fresh snapshot,
so it never keeps what the old scope showed."""
MAX_FRAME: Final = 64 * 1024
HEARTBEAT: Final = 20.0
"""Seconds between the server's pings to a quiet page; one that has not answered a ping within half of that is
dropped by aiohttp (close code 1006, no closing handshake, nothing logged: :meth:`Hub._lost` says it)."""
LOST_NOTE_EVERY: Final = 10.0
"""Sockets dropped without a closing handshake are said in one warning per this many seconds, by cause."""
SINCE: Final = IntParam("since", 0, 2**53 - 1, "the last seq the page saw: it is replayed what followed")
"""The numbers a page keeps are JavaScript's, exact up to 2**53 - 1."""

SnapshotFn = Callable[[], Awaitable[Any]]
FrameHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class RawJson(str):
    """A snapshot that is already JSON text: the hub puts it into the frame as it is."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AtSeq:
    """A snapshot taken elsewhere (a front end's, from the leader) at the leader's ``seq`` of its topic."""

    seq: int
    state: Any


class FrameTap(Protocol):
    """Where a leader mirrors its frames for the web front ends (docs/scaling.md, *Web front ends*)."""

    def frame(self, topic: str, frame: Frame) -> None: ...

    def flushed(self, topics: Collection[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    type: str
    text: str
    wire: bytes
    """The websocket text frame carrying ``text`` (:func:`text_frame`), built once however many sockets receive it;
    what the replay buffer keeps."""

    @property
    def payload(self) -> bytes:
        """``text`` encoded."""
        marker = self.wire[1]  # the 7-bit length, or 126 / 127 for a 16-bit / 64-bit length after it
        return self.wire[2 if marker < 126 else 4 if marker == 126 else 10:]


_LEN16: Final = struct.Struct("!BBH")
_LEN64: Final = struct.Struct("!BBQ")
_FIN_TEXT: Final = 0x81


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one final, unmasked, uncompressed websocket text frame (RFC 6455 section 5.2): what a server
    sends on a socket without permessage-deflate, byte for byte what aiohttp's ``send_frame`` writes for it."""
    length = len(payload)
    if length < 126:
        return bytes((_FIN_TEXT, length)) + payload
    if length < 65536:
        return _LEN16.pack(_FIN_TEXT, 126, length) + payload
    return _LEN64.pack(_FIN_TEXT, 127, length) + payload


def _frame(seq: int, type_: str, text: str) -> Frame:
    return Frame(seq, type_, text, text_frame(text.encode()))


def _frame_text(seq: int, type_: str, data: Any) -> str:
    if isinstance(data, RawJson):
        return f'{{"seq":{seq},"type":{json.dumps(type_)},"data":{data}}}'
    return json.dumps({"seq": seq, "type": type_, "data": data}, default=str, separators=(",", ":"))


LENT_TTL: Final = 10.0
"""Seconds a front end's socket is kept without a renewal (the front ends renew every :data:`RENEW_EVERY`)."""
RENEW_EVERY: Final = 2.0


class _Lent:
    __slots__ = ("closed", "ended", "expires", "on_end", "owner", "topic")

    def __init__(self, owner: UserRecord, topic: str, expires: float, on_end: Callable[[], None] | None) -> None:
        self.owner = owner
        self.topic = topic
        self.expires = expires
        self.on_end = on_end
        self.closed: tuple[int, str] | None = None
        self.ended = False


class _Subscriber:
    __slots__ = ("covered", "frames", "task", "transport", "waiter", "writer", "ws")

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport, writer: AbstractStreamWriter) -> None:
        self.ws = ws
        self.transport = transport
        self.writer = writer
        self.frames: deque[Frame] = deque()
        """Queued, at most :data:`SEND_QUEUE` (a deque and a future: an ``asyncio.Queue`` costs more per frame,
        times every page)."""
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.covered = -1
        """The number the page's catch-up reached: a front end may relay frames up to it afterwards (its snapshot
        came from the leader ahead of the stream), and the page must not get them after the snapshot."""

    def push(self, frame: Frame) -> bool:
        if frame.seq <= self.covered:
            return True
        if len(self.frames) >= SEND_QUEUE:
            return False
        self.frames.append(frame)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return True

    async def drain(self) -> None:
        frames = self.frames
        loop = asyncio.get_running_loop()
        while True:
            if not frames:
                self.waiter = loop.create_future()
                await self.waiter
                continue
            batch = [frames.popleft()]
            size = len(batch[0].wire)
            while frames and len(batch) < BATCH_FRAMES and size < BATCH_BYTES:
                frame = frames.popleft()
                batch.append(frame)
                size += len(frame.wire)
            if not await _write(self.ws, self.transport, self.writer, batch):
                return


async def _write(ws: web.WebSocketResponse, transport: asyncio.Transport, writer: AbstractStreamWriter,
                 frames: Sequence[Frame]) -> bool:
    """Write ``frames`` to the socket in one write, then wait while its buffer is above the high-water mark; False
    when the socket is closing or gone (nothing is written then: a close frame may already have gone out)."""
    if ws.closed or transport.is_closing():
        return False
    transport.write(frames[0].wire if len(frames) == 1 else b"".join([frame.wire for frame in frames]))
    try:
        await writer.drain()
    except ConnectionError:
        return False
    return True


async def _catch_up(ws: web.WebSocketResponse, transport: asyncio.Transport, writer: AbstractStreamWriter,
                    frames: Sequence[Frame]) -> None:
    for start in range(0, len(frames), BATCH_FRAMES):
        if not await _write(ws, transport, writer, frames[start:start + BATCH_FRAMES]):
            return


@dataclass(slots=True)
class Topic:
    name: str
    seq: int = 0
    buffer: deque[Frame] = field(default_factory=lambda: deque(maxlen=REPLAY))
    subscribers: set[_Subscriber] = field(default_factory=set)

    def since(self, seq: int) -> list[Frame] | None:
        """Frames after ``seq``, or None when some of them have left the buffer (a snapshot is needed)."""
        if seq > self.seq or seq < 0:
            return None
        if seq == self.seq:
            return []
        if not self.buffer or self.buffer[0].seq > seq + 1:
            return None
        return [f for f in self.buffer if f.seq > seq]


class Hub:
    """Topics by name (``agent:<id>``, ``dashboard``); created on first use."""

    def __init__(self, tap: FrameTap | None = None) -> None:
        self._tap = tap
        self._topics: dict[str, Topic] = {}
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._owners: weakref.WeakKeyDictionary[web.WebSocketResponse, UserRecord] = weakref.WeakKeyDictionary()
        self._relays: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._closing: set[asyncio.Task[bool]] = set()
        self._lent: dict[str, _Lent] = {}
        self._first_seq = 0
        self._lent_on: Counter[str] = Counter()
        """Front ends' open sockets per topic: a publisher that skips topics nobody watches counts them too."""
        self._dropped: Counter[str] = Counter()
        self._dropped_note: asyncio.TimerHandle | None = None

    def topic(self, name: str) -> Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = Topic(name, self._first_seq)
        return topic

    def number_from_term(self, term: int) -> None:
        """A leader behind web front ends: number every topic from a base its term sets (``term`` modulo 2**20,
        times 2**32), so that a page reconnecting with a number of an earlier leader's (its front end died during a
        takeover, before it could be told) is, all but surely, outside what this leader's topics hold, and gets a
        snapshot rather than another leader's frames under the same numbers. Still below 2**53: exact in pages."""
        self._first_seq = (term % 2**20) << 32
        for topic in self._topics.values():
            if not topic.buffer and topic.seq == 0:
                topic.seq = self._first_seq

    def subscribers(self, name: str) -> int:
        topic = self._topics.get(name)
        return (0 if topic is None else len(topic.subscribers)) + self._lent_on.get(name, 0)

    def publish(self, name: str, type_: str, data: Any) -> Frame:
        """Number ``data`` (any JSON-able value, or :class:`RawJson`) as the topic's next frame and queue it
        for every subscriber."""
        topic = self.topic(name)
        topic.seq += 1
        frame = _frame(topic.seq, type_, _frame_text(topic.seq, type_, data))
        self._deliver(name, topic, frame)
        if self._tap is not None:
            self._tap.frame(name, frame)
        return frame

    def _deliver(self, name: str, topic: Topic, frame: Frame) -> None:
        """Keep ``frame`` for replay and queue it for every subscriber; a socket too far behind is closed."""
        topic.buffer.append(frame)
        behind = [subscriber for subscriber in topic.subscribers if not subscriber.push(frame)]
        for subscriber in behind:
            log.warning("socket on %s fell %d frames behind; closing it", name, SEND_QUEUE)
            topic.subscribers.discard(subscriber)
            asyncio.get_running_loop().create_task(
                subscriber.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow; reconnect"))

    def relay(self, name: str, seq: int, type_: str, text: str) -> bool:
        """A front end: the leader's frame ``seq`` of topic ``name``, kept and sent under the leader's number so
        that ``?since=`` means the same on every front end. A frame already had (a stream read again after a
        reconnect, or covered by a snapshot) is dropped (False). A gap (frames the stream lost, a front end that
        was away longer than the stream keeps) empties the replay buffer and sends the topic's pages to a fresh
        snapshot (:data:`CLOSE_RECONNECT`), so no page skips a frame silently."""
        topic = self.topic(name)
        if seq <= topic.seq:
            return False
        if topic.seq and seq != topic.seq + 1:
            log.warning("frames %d..%d of %s never arrived; its pages start again from a snapshot",
                        topic.seq + 1, seq - 1, name)
            topic.buffer.clear()
            self._drop_subscribers(topic, "frames missed; reconnect")
        topic.seq = seq
        frame = _frame(seq, type_, text)
        self._deliver(name, topic, frame)
        return True

    def flush(self, names: Collection[str]) -> None:
        """A front end: the leader emptied these topics' replay buffers (erasure): so does this one."""
        for name in names:
            topic = self._topics.get(name)
            if topic is not None:
                topic.buffer.clear()

    def reset(self) -> int:
        """A front end: a new leader's term numbers every topic afresh. Every topic is forgotten and its pages
        reconnect (:data:`CLOSE_RECONNECT`: the page forgets its number) to a snapshot of the new term; how many."""
        closed = 0
        for topic in self._topics.values():
            closed += len(topic.subscribers)
            self._drop_subscribers(topic, "new leader; reconnect")
        self._topics.clear()
        return closed

    def _drop_subscribers(self, topic: Topic, reason: str) -> None:
        for subscriber in list(topic.subscribers):
            topic.subscribers.discard(subscriber)
            task = asyncio.get_running_loop().create_task(
                subscriber.ws.close(code=CLOSE_RECONNECT, message=reason.encode()))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def publish_json(self, name: str, type_: str, data_json: str) -> Frame:
        """As :meth:`publish`, with the data already serialised (valid JSON text, inserted as it is)."""
        return self.publish(name, type_, RawJson(data_json))

    def forget(self, mentions: Collection[str]) -> int:
        """Erasure: empty the replay buffer of every topic holding a frame that contains one of ``mentions``
        (a customer's number, their calls' ids, quoted as JSON writes them). A page reconnecting after that gets
        a snapshot instead of the old frames. Returns how many buffers were emptied."""
        emptied: list[str] = []
        for topic in self._topics.values():
            if any(mention in frame.text for frame in topic.buffer for mention in mentions):
                topic.buffer.clear()
                emptied.append(topic.name)
        if emptied and self._tap is not None:
            self._tap.flushed(emptied)
        return len(emptied)

    async def serve(self, request: web.Request, name: str, snapshot: SnapshotFn,
                    on_frame: FrameHandler | None = None, *, user: UserRecord | None = None,
                    opened: Callable[[web.WebSocketResponse], None] | None = None) -> web.WebSocketResponse:
        """Run one page's socket on ``name`` until it closes; ``user`` opened it (see :meth:`disconnect`);
        ``opened`` is told the socket once it is open."""
        since = SINCE.read(request)
        # No per-message deflate: it would compress every frame again for every subscriber.
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME, compress=False)
        writer = await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the page went away during the handshake
            return ws
        self._sockets.add(ws)
        if opened is not None:
            opened(ws)
        if user is not None:
            self._owners[ws] = user
        topic = self.topic(name)
        subscriber = _Subscriber(ws, transport, writer)
        # Catch-up first, then live frames: the subscription starts before the awaited snapshot so
        # nothing published meanwhile is lost, and frames the snapshot already covers are dropped below.
        topic.subscribers.add(subscriber)
        try:
            frames = topic.since(since) if since is not None else None
            if frames is None:
                seq = topic.seq
                early: list[Frame] = []
                state = await snapshot()
                if isinstance(state, AtSeq):
                    seq, state = state.seq, state.state
                    # Taken by the leader before this subscription or after: frames relayed after it that this
                    # front end already holds follow it. A snapshot ahead of this front end covers frames the
                    # stream has yet to bring: this page skips them (_drop_covered), the topic's number stays
                    # the relay's, since the pages already here still need them.
                    early = [f for f in topic.buffer if f.seq > seq]
                if isinstance(state, RawJson):
                    await ws.send_str(_frame_text(seq, "snapshot", state))
                else:
                    await ws.send_str(json.dumps({"seq": seq, "type": "snapshot", "data": state}, default=str))
                if early and early[0].seq == seq + 1:
                    await _catch_up(ws, transport, writer, early)
                    seq = early[-1].seq
                _drop_covered(subscriber, seq)
            else:
                await _catch_up(ws, transport, writer, frames)
                _drop_covered(subscriber, frames[-1].seq if frames else topic.seq if since is None else since)
            subscriber.task = asyncio.create_task(subscriber.drain())
            await self._read(ws, on_frame)
        finally:
            topic.subscribers.discard(subscriber)
            if subscriber.task is not None:
                subscriber.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await subscriber.task
            self._lost(ws)
        return ws

    def _lost(self, ws: web.WebSocketResponse) -> None:
        """A page's socket that ended without a closing handshake (1006: no pong within half of :data:`HEARTBEAT`,
        or the connection broke), which aiohttp does without a word: counted by cause and said in one warning per
        :data:`LOST_NOTE_EVERY` s. Issue 21: 2,300 of 5,000 dashboards ended so on two front ends whose logs said
        nothing."""
        if ws.close_code != WSCloseCode.ABNORMAL_CLOSURE:
            return
        exc = ws.exception()
        self._dropped[f"{type(exc).__name__}: {exc}" if exc is not None else "no closing handshake"] += 1
        if self._dropped_note is None:
            self._dropped_note = asyncio.get_running_loop().call_later(LOST_NOTE_EVERY, self._say_dropped)

    def _say_dropped(self) -> None:
        self._dropped_note = None
        if self._dropped:
            log.warning("%d page socket(s) dropped without a closing handshake in the last %g s (%s); the pages "
                        "reconnect to a snapshot", sum(self._dropped.values()), LOST_NOTE_EVERY,
                        "; ".join(f"{n}: {why}" for why, n in self._dropped.most_common()))
            self._dropped.clear()

    async def _read(self, ws: web.WebSocketResponse, on_frame: FrameHandler | None) -> None:
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                if message.type is WSMsgType.BINARY:
                    await _send_error(ws, "binary frames are not accepted; send JSON text")
                continue
            try:
                frame = decode_json(message.data)
            except JsonTooDeep as exc:
                await _send_error(ws, str(exc))
                continue
            except ValueError:
                await _send_error(ws, "not JSON")
                continue
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                await _send_error(ws, "a frame is a JSON object with a string 'type'")
                continue
            if frame["type"] == "ping":
                await ws.send_str(json.dumps({"type": "pong", "id": frame.get("id")}))
                continue
            if on_frame is None:
                await _send_error(ws, f"unknown frame type {frame['type']!r}")
                continue
            try:
                reply = await on_frame(frame)
            except FrameError as exc:
                await _send_error(ws, str(exc), frame.get("id"), exc.code)
                continue
            if reply is not None:
                await ws.send_str(json.dumps({"id": frame.get("id"), **reply}, default=str))

    def own(self, ws: web.WebSocketResponse, user: UserRecord) -> None:
        """A socket served elsewhere (the browser phone's SIP relay) that closes with its owner's token or session
        as the pages' do. A change of what the owner may see leaves it open: it carries no topic."""
        self._sockets.add(ws)
        self._owners[ws] = user
        self._relays.add(ws)

    def owners(self) -> list[UserRecord]:
        """The users who opened the sockets still open (one entry per socket), here and on the front ends."""
        self._expire_lent()
        return [user for ws, user in list(self._owners.items()) if not ws.closed] + [
            lent.owner for lent in self._lent.values() if lent.closed is None]

    # -- sockets served by a web front end (docs/scaling.md, *Web front ends*) ---------------------------------
    def lend(self, owner: UserRecord, on_end: Callable[[], None] | None = None, *, topic: str) -> str:
        """A socket a front end serves for ``owner``: a grant (random, the front end's only handle on it) that
        lasts while the front end renews it (:meth:`renew`, within :data:`LENT_TTL`). It closes as this process's
        own sockets do (:meth:`disconnect`); ``on_end`` runs once when it ends, however it ends."""
        self._expire_lent()
        grant = secrets.token_urlsafe(32)
        self._lent[grant] = _Lent(owner, topic, time.monotonic() + LENT_TTL, on_end)
        self._lent_on[topic] += 1
        return grant

    def renew(self, grants: Collection[str]) -> dict[str, tuple[int, str]]:
        """Keep these grants; the ones to close, with the close code and reason (an unknown or expired grant:
        :data:`CLOSE_RECONNECT`, a new leader's or this one's restart)."""
        self._expire_lent()
        closing: dict[str, tuple[int, str]] = {}
        until = time.monotonic() + LENT_TTL
        for grant in grants:
            lent = self._lent.get(grant)
            if lent is None:
                closing[grant] = (CLOSE_RECONNECT, "unknown socket; reconnect")
            elif lent.closed is not None:
                closing[grant] = lent.closed
                del self._lent[grant]
            else:
                lent.expires = until
        return closing

    def give_back(self, grants: Collection[str]) -> None:
        """The front end's sockets closed."""
        for grant in grants:
            lent = self._lent.pop(grant, None)
            if lent is not None:
                self._end(lent)

    def lent_topic(self, grant: str) -> str | None:
        """The topic of a front end's open socket, None for an unknown or closed grant."""
        lent = self._lent.get(grant)
        return None if lent is None or lent.closed is not None else lent.topic

    def _expire_lent(self) -> None:
        now = time.monotonic()
        for grant in [g for g, lent in self._lent.items() if lent.expires < now]:
            self._end(self._lent.pop(grant))

    def _end(self, lent: _Lent) -> None:
        if lent.ended:
            return
        lent.ended = True
        self._lent_on[lent.topic] -= 1
        if self._lent_on[lent.topic] <= 0:
            del self._lent_on[lent.topic]
        if lent.on_end is not None:
            lent.on_end()

    async def disconnect(self, refuse: Callable[[UserRecord], str | None], *, code: int = CLOSE_REVOKED) -> int:
        """Close every open socket whose owner ``refuse`` gives a reason for, with ``code`` (1008 unless told) and
        that reason; how many. The close frames go out at once; the closing handshakes finish in the background (a
        page that never answers must not hold up whoever revoked the user)."""
        closing = 0
        for lent in self._lent.values():
            reason = None if lent.closed is not None else refuse(lent.owner)
            if reason is not None:
                lent.closed = (code, reason)  # told to its front end at its next renewal
                self._end(lent)
                closing += 1
        for ws, owner in list(self._owners.items()):
            if code != CLOSE_REVOKED and ws in self._relays:
                continue
            reason = None if ws.closed else refuse(owner)
            if reason is None:
                continue
            del self._owners[ws]
            task = asyncio.get_running_loop().create_task(ws.close(code=code, message=reason.encode()))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            closing += 1
        if closing:
            await asyncio.sleep(0)  # let the close frames be written before answering
        return closing

    async def close(self) -> None:
        """Shutdown: every open page is told the server is going away (it reconnects later)."""
        if self._dropped_note is not None:
            self._dropped_note.cancel()
            self._say_dropped()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


class FrameError(ValueError):
    """A page's frame was understood but refused; the message goes back in an ``error`` frame, with ``code`` for
    the page to say it in its user's language (as the API's errors have one)."""

    def __init__(self, message: str, code: str = "bad_frame") -> None:
        super().__init__(message)
        self.code = code


def _drop_covered(subscriber: _Subscriber, seq: int) -> None:
    """Remove queued frames the catch-up already delivered (published while it was being sent), and skip those a
    front end relays later up to ``seq``."""
    subscriber.covered = seq
    kept = [frame for frame in subscriber.frames if frame.seq > seq]
    subscriber.frames.clear()
    subscriber.frames.extend(kept)


async def _send_error(ws: web.WebSocketResponse, message: str, frame_id: Any = None, code: str = "bad_frame") -> None:
    await ws.send_str(json.dumps({"type": "error", "id": frame_id, "error": {"code": code, "message": message}}))
