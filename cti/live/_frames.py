"""The leader's websocket frames as one Redis stream, for the web front ends (docs/scaling.md, *Web front ends*).

Keys (``<p>`` is the configured prefix)::

    <p>:frames        a stream of {term, kind, topic, seq, type, text}: every frame the leader's hub published, in
                      the order it published them (``kind`` ``frame``), and the topics whose replay buffers
                      erasure emptied (``kind`` ``flush``, ``topic`` their names joined by newlines); capped
                      (``MAXLEN ~``)
    <p>:leader:http   JSON {url, term}: where the leader serves HTTP, renewed every 2 s, gone 10 s after it stops

One stream, not one per topic, and not pub/sub: a stream keeps the order across topics, and a front end that lost
Redis for a while reads again from the last id it had, so it misses nothing the stream still holds. The leader's
numbers (``seq`` per topic) travel with the frames: a page's ``?since=`` means the same on every front end. A new
leader numbers every topic afresh; its ``term`` (the lease's fencing token) tells the front ends to start over.

The leader appends without waiting (the hub publishes synchronously): frames queue and a task writes them in
batches, in order, retrying while Redis is away. With standby controllers each batch goes through a script that
checks the writer's fencing token, as the live picture's writes do: a deposed leader adds nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from cti.live._store import Fence, Fenced, LiveStoreError
from cti.redis_client import redis_client
from cti.tasks import stop_task

__all__ = ["FrameStream", "StreamEntry"]

log = logging.getLogger("cti.live.frames")

MAXLEN: Final = 20_000
"""About how many entries the stream keeps: minutes of a busy center's frames, far more than a front end's
restart or a Redis failover takes."""
QUEUE: Final = 50_000
BATCH: Final = 500
ADVERTISE_EVERY: Final = 2.0
ADVERTISE_TTL: Final = 10

# KEYS[1]: the current token's key (or "" unfenced), KEYS[2]: the stream. ARGV[1]: the writer's token, ARGV[2]: the
# cap; then five fields per entry (kind, topic, seq, type, text).
_XADD = """
if KEYS[1] ~= '' then
  local current = redis.call('GET', KEYS[1])
  if current ~= ARGV[1] then
    return redis.error_reply('FENCED ' .. (current or 'none'))
  end
end
local n = 0
for i = 3, #ARGV, 5 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'term', ARGV[1], 'kind', ARGV[i], 'topic', ARGV[i + 1],
             'seq', ARGV[i + 2], 'type', ARGV[i + 3], 'text', ARGV[i + 4])
  n = n + 1
end
return n
"""


@dataclass(frozen=True, slots=True)
class StreamEntry:
    id: str
    term: int
    kind: str  # "frame" or "flush"
    topic: str
    seq: int
    type: str
    text: str


class FrameStream:
    """The leader's side (:meth:`start`, :meth:`frame`, :meth:`flushed`: a :class:`cti.web.FrameTap`) and the front
    ends' (:meth:`read`, :meth:`leader`)."""

    def __init__(self, url: str, prefix: str, *, maxlen: int = MAXLEN) -> None:
        # Reads block up to a second: a socket timeout well above it.
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=5.0, health_check_interval=10,
                                                   decode_responses=True)
        self._p = prefix
        self._fence: Fence | None = None
        self._maxlen = maxlen
        self._xadd = self._redis.register_script(_XADD)
        self._queue: asyncio.Queue[tuple[str, str, str, str, str]] = asyncio.Queue(QUEUE)
        self._term: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.written = 0

    @property
    def key(self) -> str:
        return f"{self._p}:frames"

    @property
    def leader_key(self) -> str:
        return f"{self._p}:leader:http"

    @property
    def term(self) -> int | None:
        return self._term

    async def close(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []
        await self._redis.aclose()

    # -- the leader --------------------------------------------------------------------------------------------
    def start(self, term: int, url: str, *, fence: Fence | None = None) -> None:
        """Mirror from now on, as ``term`` (with standby controllers, the fencing token ``fence`` holds now);
        advertise ``url`` as the leader's HTTP address."""
        self._term = term
        self._fence = fence
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write(), name="cti-frames-write"),
                       loop.create_task(self._advertise(url), name="cti-frames-advertise")]

    def frame(self, topic: str, frame: _FrameLike) -> None:
        self._put(("frame", topic, str(frame.seq), frame.type, frame.text))

    def flushed(self, topics: Collection[str]) -> None:
        self._put(("flush", "\n".join(topics), "0", "", ""))

    def _put(self, entry: tuple[str, str, str, str, str]) -> None:
        if self._term is None:
            return
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            # Redis away for long: the front ends see the gap in the numbers and send those pages to a snapshot.
            if not self.dropped:
                log.error("the frame stream is %d entries behind; dropping frames until Redis takes them", QUEUE)
            self.dropped += 1

    async def _write(self) -> None:
        assert self._term is not None
        token = str(self._term)
        fence_key = "" if self._fence is None else self._fence.key
        backoff = 0.2
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            args: list[str] = [token, str(self._maxlen)]
            for entry in batch:
                args.extend(entry)
            while True:  # the same batch again until Redis takes it: order is kept
                try:
                    await self._xadd(keys=[fence_key, self.key], args=args)
                    self.written += len(batch)
                    backoff = 0.2
                    break
                except ResponseError as exc:
                    if str(exc).startswith("FENCED"):
                        log.error("frames not mirrored: %s", Fenced(f"fencing token {token} is not the current one"))
                        return  # deposed: the process is ending
                    log.error("frames not mirrored (%d dropped): %s", len(batch), exc)
                    self.dropped += len(batch)
                    break
                except (RedisError, OSError) as exc:
                    log.warning("mirroring frames failed, retrying in %.1f s: %s", backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)

    async def _advertise(self, url: str) -> None:
        value = json.dumps({"url": url, "term": self._term})
        while True:
            try:
                await self._redis.set(self.leader_key, value, ex=ADVERTISE_TTL)
            except (RedisError, OSError) as exc:
                log.debug("could not advertise the leader's address: %s", exc)
            await asyncio.sleep(ADVERTISE_EVERY)

    async def forget(self, mentions: Collection[str]) -> int:
        """Erasure: delete the stream's entries that mention any of ``mentions``; how many."""
        doomed: list[str] = []
        try:
            after = "-"
            while True:
                chunk: Any = await self._redis.xrange(self.key, min=after, max="+", count=1000)
                if not chunk:
                    break
                for entry_id, fields in chunk:
                    if any(mention in fields.get("text", "") for mention in mentions):
                        doomed.append(entry_id)
                after = "(" + chunk[-1][0]
            if doomed:
                await self._redis.xdel(self.key, *doomed)
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot erase frames from Redis: {exc}") from exc
        return len(doomed)

    # -- a front end -------------------------------------------------------------------------------------------
    async def last_id(self) -> str:
        """The id of the newest entry ("0-0" for none): where a front end that wants only new frames starts."""
        try:
            newest: Any = await self._redis.xrevrange(self.key, count=1)
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot read the frame stream: {exc}") from exc
        return str(newest[0][0]) if newest else "0-0"

    async def read(self, after: str, *, block_ms: int = 1000) -> AsyncIterator[list[StreamEntry]]:
        """Batches of entries after ``after``, in order, for as long as the iteration runs;
        :class:`LiveStoreError` when Redis goes away (read again from the last entry's id)."""
        while True:
            try:
                answer: Any = await self._redis.xread({self.key: after}, count=BATCH, block=block_ms)
            except (RedisError, OSError) as exc:
                raise LiveStoreError(f"cannot read the frame stream: {exc}") from exc
            if not answer:
                yield []
                continue
            batch = [_entry(entry_id, fields) for entry_id, fields in answer[0][1]]
            after = batch[-1].id
            yield batch

    async def leader(self) -> tuple[str, int] | None:
        """The leader's advertised HTTP address and term, or None (none leads, or it stopped advertising)."""
        try:
            raw = await self._redis.get(self.leader_key)
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot read the leader's address: {exc}") from exc
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            return str(value["url"]), int(value["term"])
        except (ValueError, KeyError, TypeError):
            return None


class _FrameLike(Protocol):
    """What the stream takes of a hub's frame (:class:`cti.web.Frame`; the web is a layer above)."""

    @property
    def seq(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def text(self) -> str: ...


def _entry(entry_id: str, fields: dict[str, str]) -> StreamEntry:
    return StreamEntry(entry_id, int(fields.get("term", 0)), fields.get("kind", "frame"), fields.get("topic", ""),
                       int(fields.get("seq", 0)), fields.get("type", ""), fields.get("text", ""))
