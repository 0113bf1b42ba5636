"""cti's Redis clients, made in one place from ``CTI_REDIS_URL`` (its forms: :mod:`cti.redis_url`).

With ``redis+sentinel://`` a client asks the Sentinels where the master is before each new connection
(redis-py's ``SentinelConnectionPool``). After a failover the old master's connections fail (refused, reset, or a
``READONLY`` reply once it returned as a replica, which redis-py turns into a ``ConnectionError`` and a
disconnect); the next command connects to the master the Sentinels name then. The same client object follows any
number of failovers: nobody rebuilds it. While the Sentinels have not yet promoted a replica, commands fail
(``MasterNotFoundError``, a ``ConnectionError``) and the callers treat it as Redis being away.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from cti.redis_url import sentinel_target

__all__ = ["redis_client"]


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The master's connections, at most ``max_connections``: beyond, a request waits up to ``timeout`` for one
    (BlockingConnectionPool's ``get_connection``/``release``) instead of failing at once. redis-py has no blocking
    Sentinel pool; the two classes compose: Sentinel's pool only overrides how a connection finds its address."""


class _SentinelRedis(aioredis.Redis):
    """A master's client that also closes its Sentinels' connections when closed (redis-py leaves them open)."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self.sentinels is not None:
                await self.sentinels.aclose()


def redis_client(url: str, *, socket_timeout: float | None, connect_timeout: float = 2.0,
                 health_check_interval: int = 0, decode_responses: bool = False,
                 max_connections: int | None = None, pool_wait: float | None = None) -> aioredis.Redis:
    """A client of ``url``'s Redis (of the current master, with Sentinel). ``socket_timeout`` None: reads wait as
    long as it takes (a subscriber). With ``pool_wait``, at most ``max_connections`` connections and a request
    beyond waits up to ``pool_wait`` seconds for one; else redis-py's pool, which refuses past its limit."""
    options: dict[str, Any] = {"socket_timeout": socket_timeout, "socket_connect_timeout": connect_timeout,
                               "health_check_interval": health_check_interval, "decode_responses": decode_responses}
    if max_connections is not None:
        options["max_connections"] = max_connections
    blocking = pool_wait is not None
    if blocking:
        if max_connections is None:
            raise ValueError("a blocking pool needs max_connections")
        options["timeout"] = pool_wait
    target = sentinel_target(url)
    if target is None:
        if blocking:
            return aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(url, **options))
        return aioredis.from_url(url, **options)
    # The Sentinels answer at once or not at all: a stuck one must not hold a connection up for longer than
    # connecting takes, and discovery moves on to the next.
    sentinel = Sentinel(target.sentinels, sentinel_kwargs={
        "socket_timeout": connect_timeout, "socket_connect_timeout": connect_timeout,
        "password": target.sentinel_password})
    client: _SentinelRedis = sentinel.master_for(
        target.master, redis_class=_SentinelRedis,
        connection_pool_class=_BlockingSentinelPool if blocking else SentinelConnectionPool,
        db=target.db, username=target.username, password=target.password, **options)
    client.sentinels = sentinel
    return client
