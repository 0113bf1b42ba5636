"""The lease in Redis: taken with a new fencing token, renewed by its holder only, released by its holder only.

Keys (``<p>`` is the configured prefix)::

    <p>:leader         "<holder> <token>", expiring after the lease's time unless renewed
    <p>:leader:token   the last fencing token given (INCR); live-state writes carry theirs (cti.live.LiveStore)

Each operation is one Lua script, so checking and changing happen at once in Redis. A new token is the last one
plus one, and at least Redis's clock in milliseconds: a Redis that lost its data (restarted empty), or a replica
promoted by Sentinel without the last increment (replication is asynchronous), gives a token above any given
before the failure, since a failover takes seconds and the servers' clocks agree far better than that. So a
token once given is never given again.
"""

from __future__ import annotations

import os
import socket
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.errors import Unavailable
from cti.redis_client import redis_client

__all__ = ["LeaseUnavailable", "RedisLease", "holder_name"]

_ACQUIRE = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, string.len(ARGV[1]) + 1) ~= ARGV[1] .. ' ' then
  return nil
end
local now = redis.call('TIME')
local clock = now[1] * 1000 + math.floor(now[2] / 1000)
local token = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
if token < clock then
  token = clock
end
redis.call('SET', KEYS[2], string.format('%d', token))
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', token), 'PX', ARGV[2])
return token
"""
"""Free, or still this holder's from before (a new term: a new token, so the old term's writes are refused)."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseUnavailable(Unavailable):
    """Redis could not be asked about the lease."""


def holder_name() -> str:
    """This process, told apart from every other one (a restarted process is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RedisLease:
    def __init__(self, url: str, prefix: str, *, holder: str | None = None, timeout: float = 2.0) -> None:
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=timeout, connect_timeout=timeout,
                                                   decode_responses=True)
        self.holder = holder or holder_name()
        self.lease_key = f"{prefix}:leader"
        self.token_key = f"{prefix}:leader:token"
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    async def close(self) -> None:
        await self._redis.aclose()

    async def acquire(self, ttl_ms: int) -> int | None:
        """A new term for ``ttl_ms``: its fencing token, or None while another holder's lease lasts."""
        try:
            token = await self._acquire(keys=[self.lease_key, self.token_key], args=[self.holder, ttl_ms])
        except (RedisError, OSError) as exc:
            raise LeaseUnavailable(f"cannot take the lease in Redis: {exc}") from exc
        return None if token is None else int(token)

    async def renew(self, token: int, ttl_ms: int) -> bool:
        """The lease of term ``token`` for ``ttl_ms`` more; False if it lapsed or another holder took it."""
        try:
            return bool(await self._renew(keys=[self.lease_key], args=[f"{self.holder} {token}", ttl_ms]))
        except (RedisError, OSError) as exc:
            raise LeaseUnavailable(f"cannot renew the lease in Redis: {exc}") from exc

    async def release(self, token: int) -> bool:
        """Let the lease go at once (a clean shutdown), so a standby need not wait for it to lapse."""
        try:
            return bool(await self._release(keys=[self.lease_key], args=[f"{self.holder} {token}"]))
        except (RedisError, OSError) as exc:
            raise LeaseUnavailable(f"cannot release the lease in Redis: {exc}") from exc

    async def holder_now(self) -> tuple[str, int] | None:
        """Who holds the lease now and with which token (status, tests), or None."""
        try:
            held = await self._redis.get(self.lease_key)
        except (RedisError, OSError) as exc:
            raise LeaseUnavailable(f"cannot read the lease in Redis: {exc}") from exc
        if held is None:
            return None
        holder, _, token = str(held).rpartition(" ")
        return holder, int(token)
