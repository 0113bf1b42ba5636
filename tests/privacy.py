"""Where a value is still stored: every column of every table (reflected, so a table added later is searched
too), every Redis key under a prefix, every file under a folder. For the tests of erasure and retention."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import Connection, MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

__all__ = ["files_holding", "redis_holding", "stored_in", "tables_holding"]


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _found(text: str, needles: Collection[str]) -> list[str]:
    lowered = text.lower()
    return [needle for needle in needles if needle.lower() in lowered]


async def stored_in(url: str) -> dict[tuple[str, str], list[str]]:
    """Every value of every column of every table, as text, by (table, column)."""
    engine = create_async_engine(url, poolclass=NullPool)

    def read(connection: Connection) -> dict[tuple[str, str], list[str]]:
        metadata = MetaData()
        metadata.reflect(connection)
        values: dict[tuple[str, str], list[str]] = {}
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    values.setdefault((table.name, column), []).append(_text(value))
        return values

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def tables_holding(url: str, needles: Collection[str]) -> dict[str, list[str]]:
    """``"table.column"`` -> the needles (any case) some value of it contains; empty when none is stored."""
    found: dict[str, list[str]] = {}
    for (table, column), values in (await stored_in(url)).items():
        hits = sorted({needle for value in values for needle in _found(value, needles)})
        if hits:
            found[f"{table}.{column}"] = hits
    return found


async def redis_holding(url: str, prefix: str, needles: Collection[str]) -> dict[str, list[str]]:
    """Redis key -> the needles its value (string, set, hash, list) contains, for every key under ``prefix``."""
    client: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
    found: dict[str, list[str]] = {}
    try:
        async for key in client.scan_iter(match=f"{prefix}:*", count=500):
            kind = await client.type(key)
            if kind == "string":
                value: Any = await client.get(key)
            elif kind == "set":
                value = sorted(await client.smembers(key))
            elif kind == "hash":
                value = await client.hgetall(key)
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            else:
                value = kind
            hits = _found(key + " " + _text(value), needles)
            if hits:
                found[key] = hits
    finally:
        await client.aclose()
    return found


def files_holding(folder: Path, names: Collection[str]) -> list[Path]:
    """Files under ``folder`` whose name (without suffix) is one of ``names``."""
    return sorted(path for path in folder.rglob("*") if path.is_file() and path.stem in names)
