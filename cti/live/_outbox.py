"""The webhooks' outbox in Redis: one stream per subscription, read through a consumer group.

Keys (``<p>`` is the configured prefix)::

    <p>:webhooks:<subscription_id>   a stream of {subject, body}: the events not yet delivered, in order

An event is added (``XADD``) as it happens, handed out (``XREADGROUP``) and stays *pending* until it was delivered
or set aside as a dead letter; then it is acknowledged and deleted (``XACK``, ``XDEL``). A restarted server reads
its pending entries first, in order, so nothing handed out before the restart is lost or overtaken.

With standby controllers the events are added with the writer's fencing token, checked in the same script as the
live picture's writes (:class:`cti.live.Fenced`): a deposed leader adds nothing once a newer one started.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from cti.live._store import Fence, Fenced, LiveStoreError
from cti.redis_client import redis_client
from cti.services import OutboxEntry

__all__ = ["WebhookOutbox"]

_GROUP = "cti"
_CONSUMER = "cti"
"""One consumer: one server delivers a subscription's events (see docs/integration.md)."""


# KEYS[1]: the current token's key; KEYS[2..]: the streams. ARGV[1]: the writer's token; then each entry's subject
# and body.
_FENCED_XADD = """
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  return redis.error_reply('FENCED ' .. (current or 'none'))
end
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'subject', ARGV[2 * i - 2], 'body', ARGV[2 * i - 1])
end
return #KEYS - 1
"""


class WebhookOutbox:
    def __init__(self, url: str, prefix: str, *, fence: Fence | None = None) -> None:
        # Reads block up to a second: a socket timeout well above it.
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=10.0, health_check_interval=10)
        self._p = prefix
        self._groups: set[str] = set()
        self._fence = fence
        self._fenced_xadd = self._redis.register_script(_FENCED_XADD)

    def key(self, subscription_id: str) -> str:
        return f"{self._p}:webhooks:{subscription_id}"

    async def close(self) -> None:
        await self._redis.aclose()

    async def append(self, entries: Sequence[tuple[str, str, bytes]]) -> None:
        if self._fence is not None:
            await self._append_fenced(self._fence, entries)
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for subscription_id, subject, body in entries:
                    pipe.xadd(self.key(subscription_id), {"subject": subject, "body": body})
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot add webhook events to the outbox: {exc}") from exc

    async def _append_fenced(self, fence: Fence, entries: Sequence[tuple[str, str, bytes]]) -> None:
        token = fence.token
        if token is None:
            raise Fenced("webhook events not added: this controller does not lead (it holds no lease)")
        try:
            await self._fenced_xadd(keys=[fence.key, *(self.key(sid) for sid, _, _ in entries)],
                                    args=[token, *(part for _, subject, body in entries for part in (subject, body))])
        except ResponseError as exc:
            if not str(exc).startswith("FENCED"):
                raise LiveStoreError(f"cannot add webhook events to the outbox: {exc}") from exc
            current = str(exc).removeprefix("FENCED").strip()
            raise Fenced(f"webhook events not added: fencing token {token} is not the current one ({current}); "
                         "a newer leader started", params={"token": token, "current": current}) from exc
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot add webhook events to the outbox: {exc}") from exc

    async def read(self, subscription_id: str, *, after: str | None, count: int,
                   block_ms: int) -> builtins.list[OutboxEntry]:
        key = self.key(subscription_id)
        found: Any
        try:
            await self._group(key)
            if after is None:
                found = await self._redis.xreadgroup(_GROUP, _CONSUMER, {key: ">"}, count=count, block=block_ms)
            else:
                found = await self._redis.xreadgroup(_GROUP, _CONSUMER, {key: after}, count=count)
        except (RedisError, OSError) as exc:
            self._groups.discard(key)  # the stream may have gone with Redis's data: made again on the next read
            raise LiveStoreError(f"cannot read the webhook outbox of {subscription_id}: {exc}") from exc
        entries = []
        for _, messages in found or ():
            for entry_id, fields in messages:
                if not fields:  # deleted while pending
                    continue
                entries.append(OutboxEntry(_text(entry_id), _text(fields[b"subject"]), bytes(fields[b"body"])))
        return entries

    async def done(self, subscription_id: str, entry_id: str) -> None:
        key = self.key(subscription_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(key, _GROUP, entry_id)
                pipe.xdel(key, entry_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot mark a webhook event done: {exc}") from exc

    async def backlog(self, subscription_id: str) -> int:
        try:
            return int(await self._redis.xlen(self.key(subscription_id)))
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot read the webhook outbox: {exc}") from exc

    async def drop(self, subscription_id: str) -> None:
        key = self.key(subscription_id)
        try:
            await self._redis.delete(key)
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot delete the webhook outbox of {subscription_id}: {exc}") from exc
        self._groups.discard(key)

    async def _group(self, key: str) -> None:
        if key in self._groups:
            return
        try:
            # From the stream's start: it holds only what is not done yet, all of it to deliver.
            await self._redis.xgroup_create(key, _GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(key)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
