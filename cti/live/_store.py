"""Live state in Redis: agents and work items, enough for a restarted controller to carry on.

Keys (``<p>`` is the configured prefix)::

    <p>:agent:<agent_id>   JSON of the agent           <p>:agents  set of agent ids
    <p>:call:<call_id>     JSON of a live item         <p>:calls   set of live item ids
    <p>:sight              when the controller last saw Asterisk's picture (ISO 8601)
    <p>:erasures           (a channel) customers erased by ``cti customers forget``, for running servers

A live call's entry holds the caller's number, name and IVR path while the call lasts; it is deleted when the
call ends, and erasure deletes any left of the customer's calls (:meth:`LiveStore.forget`).

Redis is not allowed to stop calls: a failed write marks the store dirty and the controller keeps
working from memory; :meth:`LiveStore.resync` writes the whole picture back once Redis answers again.

With standby controllers (``fence``, :mod:`cti.cluster`) every write of the live picture carries the writer's
fencing token and is made by a Lua script that first checks it is still the current one (``<p>:leader:token``):
a deposed leader's writes are refused as a whole (:class:`Fenced`), even one sent before a new leader started and
arriving after.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from cti.acd import Agent, WorkItem, WorkState
from cti.errors import Fenced as _Fenced
from cti.errors import Unavailable
from cti.live._codec import decode_agent, decode_call, encode_agent, encode_call
from cti.redis_client import redis_client

__all__ = ["Fence", "Fenced", "LiveStore", "LiveStoreError"]

log = logging.getLogger("cti.live")


class LiveStoreError(Unavailable):
    """Redis could not be reached or answered with an error."""


class Fenced(_Fenced):
    """A write of the live picture by a controller that no longer leads: refused, nothing of it written."""


class Fence(Protocol):
    """The writer's fencing token (None while it may not write) and the key of the current one in Redis."""

    @property
    def key(self) -> str: ...

    @property
    def token(self) -> int | None: ...


# KEYS[1]: the current token's key; KEYS[2..]: the keys written. ARGV[1]: the writer's token; then for each
# written key an operation (set, sadd, srem, del) and its value.
_FENCED_WRITE = """
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  return redis.error_reply('FENCED ' .. (current or 'none'))
end
for i = 2, #KEYS do
  local op, value = ARGV[2 * i - 2], ARGV[2 * i - 1]
  if op == 'set' then redis.call('SET', KEYS[i], value)
  elseif op == 'sadd' then redis.call('SADD', KEYS[i], value)
  elseif op == 'srem' then redis.call('SREM', KEYS[i], value)
  else redis.call('DEL', KEYS[i]) end
end
return #KEYS - 1
"""

_Write = tuple[str, str, str]  # operation, key, value


class LiveStore:
    def __init__(self, url: str, prefix: str, *, fence: Fence | None = None) -> None:
        self._url = url
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=2.0, health_check_interval=10,
                                                   decode_responses=True)
        self._p = prefix
        self._fence = fence
        self._fenced_write = self._redis.register_script(_FENCED_WRITE)
        self.dirty = False
        self.write_failures = 0

    def key(self, *parts: str) -> str:
        return ":".join((self._p, *parts))

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def load(self) -> tuple[list[Agent], list[WorkItem]]:
        try:
            agent_ids = sorted(map(str, await self._redis.smembers(self.key("agents"))))
            call_ids = sorted(map(str, await self._redis.smembers(self.key("calls"))))
            agents_raw = await self._redis.mget([self.key("agent", a) for a in agent_ids]) if agent_ids else []
            calls_raw = await self._redis.mget([self.key("call", c) for c in call_ids]) if call_ids else []
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot load live state from Redis: {exc}") from exc
        agents = [decode_agent(raw) for raw in agents_raw if raw is not None]
        calls = [decode_call(raw) for raw in calls_raw if raw is not None]
        return agents, calls

    async def save_sight(self, at: datetime) -> bool:
        """When Asterisk's picture was last known to be current; False if Redis did not take it. A failure marks
        the store dirty like any other write's: written about once a second, the sight is what notices an outage
        or a Sentinel failover when nothing else changes, and the whole picture is rewritten after it (the new
        master may lack writes the old one acknowledged but had not yet replicated)."""
        try:
            await self._apply([("set", self.key("sight"), at.isoformat())])
        except (RedisError, OSError):
            self.dirty = True
            return False
        return True

    async def load_sight(self) -> datetime | None:
        try:
            raw = await self._redis.get(self.key("sight"))
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot load live state from Redis: {exc}") from exc
        try:
            return None if raw is None else datetime.fromisoformat(str(raw))
        except ValueError:
            return None  # not ours to trust: no sight known

    async def save(self, agents: Iterable[Agent] = (), calls: Iterable[WorkItem] = ()) -> bool:
        """Write changed agents and calls in one round trip; ended calls leave the live set. :class:`Fenced`
        when this controller no longer leads."""
        writes: list[_Write] = []
        for agent in agents:
            writes += [("set", self.key("agent", agent.agent_id), encode_agent(agent)),
                       ("sadd", self.key("agents"), agent.agent_id)]
        for call in calls:
            if call.state is WorkState.ENDED:
                writes += [("del", self.key("call", call.call_id), ""), ("srem", self.key("calls"), call.call_id)]
            else:
                writes += [("set", self.key("call", call.call_id), encode_call(call)),
                           ("sadd", self.key("calls"), call.call_id)]
        try:
            await self._apply(writes)
        except (RedisError, OSError) as exc:
            if not self.dirty:
                log.error("Redis write failed, keeping state in memory until it returns: %s", exc)
            self.dirty = True
            self.write_failures += 1
            return False
        return True

    async def forget(self, mentions: Collection[str], *, call_ids: Collection[str] = (),
                     keep: Collection[str] = ()) -> int:
        """Erasure: delete the entries of ``call_ids`` and of any other call whose JSON contains one of
        ``mentions`` (a customer's number, their phone numbers, quoted), except the calls in ``keep`` (live now,
        so someone else's). Returns how many entries were deleted."""
        doomed = {self.key("call", call_id) for call_id in call_ids}
        kept = {self.key("call", call_id) for call_id in keep}
        prefix = self.key("call", "")
        try:
            async for key in self._redis.scan_iter(match=self.key("call", "*"), count=500):
                if key in doomed or key in kept:
                    continue
                raw = await self._redis.get(key)
                if raw is not None and any(mention in raw for mention in mentions):
                    doomed.add(key)
            doomed -= kept
            if not doomed:
                return 0
            pipe = self._redis.pipeline(transaction=True)
            for key in sorted(doomed):
                pipe.delete(key)
                pipe.srem(self.key("calls"), key.removeprefix(prefix))
            results = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot erase live calls from Redis: {exc}") from exc
        return sum(int(deleted) for deleted in results[::2])

    async def announce_erasure(self, customer_id: str, call_ids: Collection[str]) -> int:
        """Tell the running servers that a customer was erased elsewhere (ids only), so that they drop their
        copies in memory; returns how many servers heard it."""
        notice = json.dumps({"customer_id": customer_id, "call_ids": sorted(call_ids)})
        try:
            return int(await self._redis.publish(self.key("erasures"), notice))
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot announce the erasure on Redis: {exc}") from exc

    async def erasures(self) -> AsyncIterator[tuple[str, tuple[str, ...]]]:
        """Erasures announced by :meth:`announce_erasure`, as ``(customer id, call ids)``, as long as the
        iteration runs; :class:`LiveStoreError` when Redis goes away (subscribe again later)."""
        # A connection of its own without a read timeout: a subscriber waits for messages as long as it takes.
        client = redis_client(self._url, socket_timeout=None, health_check_interval=30, decode_responses=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.key("erasures"))
            async for message in pubsub.listen():
                try:
                    notice = json.loads(message["data"])
                    customer_id, call_ids = str(notice["customer_id"]), tuple(map(str, notice["call_ids"]))
                except (TypeError, ValueError, KeyError):
                    log.warning("ignored a malformed erasure notice on %s", self.key("erasures"))
                    continue
                yield customer_id, call_ids
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"lost the erasure notices' subscription: {exc}") from exc
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def resync(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> bool:
        """Replace Redis's picture with the controller's (after an outage or at start-up). :class:`Fenced`
        when this controller no longer leads."""
        agents, calls = list(agents), list(calls)
        writes: list[_Write] = [("del", self.key("agents"), ""), ("del", self.key("calls"), "")]
        for agent in agents:
            writes += [("set", self.key("agent", agent.agent_id), encode_agent(agent)),
                       ("sadd", self.key("agents"), agent.agent_id)]
        live = [c for c in calls if c.state is not WorkState.ENDED]
        for call in live:
            writes += [("set", self.key("call", call.call_id), encode_call(call)),
                       ("sadd", self.key("calls"), call.call_id)]
        try:
            stale = [k async for k in self._redis.scan_iter(match=self.key("call", "*"), count=500)]
            keep = {self.key("call", c.call_id) for c in live}
            writes += [("del", key, "") for key in stale if key not in keep]
            await self._apply(writes)
        except (RedisError, OSError) as exc:
            if not self.dirty:  # one line per outage, not one per retry
                log.warning("Redis resync failed: %s", exc)
            self.dirty = True
            return False
        if self.dirty:
            log.info("Redis is back; live state rewritten")
        self.dirty = False
        return True

    async def _apply(self, writes: Sequence[_Write]) -> None:
        """The writes at once: a transaction, or with a fence the script that first checks the writer's token."""
        if self._fence is None:
            pipe = self._redis.pipeline(transaction=True)
            for op, key, value in writes:
                if op == "set":
                    pipe.set(key, value)
                elif op == "sadd":
                    pipe.sadd(key, value)
                elif op == "srem":
                    pipe.srem(key, value)
                else:
                    pipe.delete(key)
            await pipe.execute()
            return
        token = self._fence.token
        if token is None:
            raise Fenced("live state not written: this controller does not lead (it holds no lease)")
        try:
            await self._fenced_write(keys=[self._fence.key, *(key for _, key, _ in writes)],
                                     args=[token, *(part for op, _, value in writes for part in (op, value))])
        except ResponseError as exc:
            if not str(exc).startswith("FENCED"):
                raise
            current = str(exc).removeprefix("FENCED").strip()
            raise Fenced(f"live state not written: fencing token {token} is not the current one ({current}); "
                         "a newer leader started", params={"token": token, "current": current}) from exc
