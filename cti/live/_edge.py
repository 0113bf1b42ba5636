"""Kamailio's notes of the callers it shed at the edge (docs/scaling.md#overload-at-the-edge), read from Redis.

Kamailio adds one entry per caller it turns away (``XADD``, fields ``told``, ``at``, ``caller``, ``called``,
``callid``) to a stream whose name cti is given (``CTI_EDGE_SHED_STREAM``). cti reads it through a consumer group:
an entry stays *pending* until its record is written, then it is acknowledged and deleted, so a controller killed
in between, or a standby taking over, records it then (its pending entries are read first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from cti.live._store import LiveStoreError
from cti.redis_client import redis_client
from cti.services import EdgeShedNote

__all__ = ["EdgeShedStream"]

_GROUP = "cti"
_CONSUMER = "cti"
_FIELD_LIMIT = 256
"""Kamailio copies what the caller's network sent; no field of a note is kept longer than this."""


class EdgeShedStream:
    def __init__(self, url: str, stream: str) -> None:
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=10.0, health_check_interval=10)
        self.stream = stream
        self._grouped = False

    async def close(self) -> None:
        await self._redis.aclose()

    async def read(self, *, count: int, block_ms: int) -> list[EdgeShedNote]:
        """Entries handed out before and not acknowledged first (a previous controller's), then new ones."""
        try:
            if not self._grouped:
                await self._group()
                pending = await self._redis.xreadgroup(_GROUP, _CONSUMER, {self.stream: "0"}, count=count)
                notes = _notes(pending)
                if notes:
                    return notes
                self._grouped = True
            return _notes(await self._redis.xreadgroup(_GROUP, _CONSUMER, {self.stream: ">"}, count=count,
                                                       block=block_ms))
        except (RedisError, OSError) as exc:
            self._grouped = False  # the stream may have gone with Redis's data: the group is made again
            raise LiveStoreError(f"cannot read the edge's shed callers: {exc}") from exc

    async def done(self, entry_ids: list[str]) -> None:
        if not entry_ids:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream, _GROUP, *entry_ids)
                pipe.xdel(self.stream, *entry_ids)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot mark the edge's shed callers recorded: {exc}") from exc

    async def _group(self) -> None:
        try:
            # From the stream's start: it holds only callers not recorded yet.
            await self._redis.xgroup_create(self.stream, _GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _notes(found: Any) -> list[EdgeShedNote]:
    notes = []
    for _, messages in found or ():
        for entry_id, fields in messages:
            if not fields:  # deleted while pending
                continue
            notes.append(EdgeShedNote(
                entry_id=_text(entry_id), at=_time(fields.get(b"at")), caller=_field(fields, b"caller"),
                called=_field(fields, b"called"), told=_field(fields, b"told") == "1"))
    return notes


def _field(fields: dict[bytes, bytes], name: bytes) -> str:
    return _text(fields.get(name, b""))[:_FIELD_LIMIT]


def _time(raw: bytes | None) -> datetime | None:
    """Kamailio's ``$TV(Sn)``: seconds and microseconds since the epoch, ``1733554800.123456``."""
    try:
        return datetime.fromtimestamp(float(_text(raw or b"")), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
