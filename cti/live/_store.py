"""Live state in Redis: agents and work items, enough for a restarted controller to carry on.

Keys (``<p>`` is the configured prefix)::

    <p>:agent:<agent_id>   JSON of the agent           <p>:agents  set of agent ids
    <p>:call:<call_id>     JSON of a live item         <p>:calls   set of live item ids
    <p>:sight              when the controller last saw Asterisk's picture (ISO 8601)

Redis is not allowed to stop calls: a failed write marks the store dirty and the controller keeps
working from memory; :meth:`LiveStore.resync` writes the whole picture back once Redis answers again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.acd import Agent, WorkItem, WorkState
from cti.errors import Unavailable
from cti.live._codec import decode_agent, decode_call, encode_agent, encode_call

__all__ = ["LiveStore", "LiveStoreError"]

log = logging.getLogger("cti.live")


class LiveStoreError(Unavailable):
    """Redis could not be reached or answered with an error."""


class LiveStore:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis: aioredis.Redis = aioredis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=10, decode_responses=True
        )
        self._p = prefix
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
        """When Asterisk's picture was last known to be current; False if Redis did not take it."""
        try:
            await self._redis.set(self.key("sight"), at.isoformat())
        except (RedisError, OSError):
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
        """Write changed agents and calls in one round trip; ended calls leave the live set."""
        pipe = self._redis.pipeline(transaction=True)
        for agent in agents:
            pipe.set(self.key("agent", agent.agent_id), encode_agent(agent))
            pipe.sadd(self.key("agents"), agent.agent_id)
        for call in calls:
            if call.state is WorkState.ENDED:
                pipe.delete(self.key("call", call.call_id))
                pipe.srem(self.key("calls"), call.call_id)
            else:
                pipe.set(self.key("call", call.call_id), encode_call(call))
                pipe.sadd(self.key("calls"), call.call_id)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self.dirty:
                log.error("Redis write failed, keeping state in memory until it returns: %s", exc)
            self.dirty = True
            self.write_failures += 1
            return False
        return True

    async def resync(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> bool:
        """Replace Redis's picture with the controller's (after an outage or at start-up)."""
        agents, calls = list(agents), list(calls)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self.key("agents"), self.key("calls"))
        for agent in agents:
            pipe.set(self.key("agent", agent.agent_id), encode_agent(agent))
            pipe.sadd(self.key("agents"), agent.agent_id)
        live = [c for c in calls if c.state is not WorkState.ENDED]
        for call in live:
            pipe.set(self.key("call", call.call_id), encode_call(call))
            pipe.sadd(self.key("calls"), call.call_id)
        try:
            stale = [k async for k in self._redis.scan_iter(match=self.key("call", "*"), count=500)]
            keep = {self.key("call", c.call_id) for c in live}
            for key in stale:
                if key not in keep:
                    pipe.delete(key)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self.dirty:  # one line per outage, not one per retry
                log.warning("Redis resync failed: %s", exc)
            self.dirty = True
            return False
        if self.dirty:
            log.info("Redis is back; live state rewritten")
        self.dirty = False
        return True
