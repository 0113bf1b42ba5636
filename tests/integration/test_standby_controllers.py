"""Two whole controllers (create_app with ``standby``) on the session's Redis with their Asterisk away (a port
bound and never listened on, as in tests/pages/conftest.py): only the one holding the lease starts the contact
center and serves; the other serves nothing until the first lets the lease go; a leader whose lease is taken
gives up at once (``on_deposed``; `cti serve` ends the process there)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from cti.acd import EndReason, Outcome, WorkItem, WorkState
from cti.ari import AriNotLeading
from cti.bootstrap import RUNNING, create_app
from cti.persistence import Database, DeadLetterRepository, InteractionRepository
from cti.settings import Settings
from cti.types import utc_now
from tests.fullapp import bounded, serve

PATIENCE = 30.0  # seconds before a wait counts as a failure: a bound, not a timing asserted


@pytest.fixture
async def settings(base_settings: Settings, database_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))
        yield base_settings.model_copy(update={
            "database_url": database_url, "redis_prefix": f"cti-test-{uuid.uuid4().hex[:8]}",
            "ari_url": f"http://127.0.0.1:{nobody.getsockname()[1]}", "sounds_dir": tmp_path / "sounds",
            "recording_dir": tmp_path / "recordings", "standby": True, "lease_seconds": 6.0})


def _ended_item() -> WorkItem:
    return WorkItem("c1", "chan-c1", "0215550123", "1500100", "general", utc_now(), state=WorkState.ENDED,
                    ended_at=utc_now(), outcome=Outcome.ABANDONED, end_reason=EndReason.CALLER_HANGUP)


Client = TestClient[web.Request, web.Application]


async def lease_of(redis: aioredis.Redis, settings: Settings) -> tuple[str, int]:
    held = await redis.get(f"{settings.redis_prefix}:leader")
    assert isinstance(held, str)
    holder, token = held.rsplit(" ", 1)
    return holder, int(token)


async def healthz(client: Client) -> tuple[int, dict[str, object]]:
    async with client.get("/healthz") as resp:
        return resp.status, await resp.json()


def health(role: str, term: int | None) -> tuple[int, dict[str, object]]:
    """``/healthz`` of a controller here: degraded (503) at best, its Asterisk being away."""
    return 503, {"status": "degraded", "role": role, "term": term,
                 "components": {"asterisk": False, "redis": True, "database": True}}


async def test_only_the_leader_starts_the_contact_center_and_a_deposed_one_gives_up(settings: Settings) -> None:
    deposed = {"first": asyncio.Event(), "second": asyncio.Event()}
    first = await serve(create_app(settings, on_deposed=deposed["first"].set))
    second_start = asyncio.create_task(serve(create_app(settings, on_deposed=deposed["second"].set)))
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    second: Client | None = None
    try:
        assert RUNNING in first.app
        holder, token = await lease_of(redis, settings)
        # Serving, and saying it leads in that term; degraded only because its Asterisk is away.
        assert await healthz(first) == health("leader", token)
        # A lease and a half (several renewals): the second controller still waits for the lease, and has built
        # nothing. (The lease is long enough for a loaded machine's event loop: a leader whose loop stalls past
        # its lease gives up, rightly, and this test would fail.)
        await asyncio.sleep(1.5 * settings.lease_seconds)
        assert not second_start.done()
        assert await lease_of(redis, settings) == (holder, token)  # renewed, still the first's

        await bounded(first.close(), "the leader's shutdown")  # a clean stop lets the lease go
        second = leader = await asyncio.wait_for(second_start, PATIENCE)
        assert RUNNING in leader.app and not deposed["first"].is_set()
        holder2, token2 = await lease_of(redis, settings)
        assert holder2 != holder and token2 > token  # a newer term: a larger token (at least Redis's clock in ms)
        assert await healthz(leader) == health("leader", token2)
        async with Database(settings.database_url) as database:  # the new leader claimed the database with it
            async with database.transaction("read the term") as session:
                term = (await session.execute(text("SELECT token, holder FROM controller_terms"))).one()
            assert (term[0], term[1]) == (token2, holder2)

        # Another term begins behind the second's back (as after a pause longer than its lease), and claims the
        # database: at its next renewal the second learns it no longer leads, and gives up.
        await redis.set(f"{settings.redis_prefix}:leader", f"intruder {token2 + 1}", px=60_000)
        await redis.incr(f"{settings.redis_prefix}:leader:token")
        intruder = Database(settings.database_url)
        await intruder.start()
        await intruder.claim_term(token2 + 1, "intruder")
        await asyncio.wait_for(deposed["second"].wait(), PATIENCE)
        # `cti serve` would have ended the process here; until then its /healthz turns balancers away.
        assert await healthz(leader) == health("standby", None)
        with pytest.raises(AriNotLeading):  # nor does it command Asterisk any more
            await leader.app[RUNNING].telephony.ari.destroy_bridge("cti-hold-general")
        journal = leader.app[RUNNING].journal
        journal.record(_ended_item())  # any write of its live picture now is refused by the token
        deadline = time.monotonic() + PATIENCE
        while not journal.fenced:
            assert time.monotonic() < deadline, "the deposed controller's write was not refused"
            await asyncio.sleep(0.05)
        # Its interaction row too, by the database, and it is neither retried nor set aside as a dead letter: the
        # new leader holds that call now.
        await asyncio.wait_for(journal.flush(), PATIENCE)
        assert await InteractionRepository(intruder).get("c1") is None
        assert await DeadLetterRepository(intruder).list() == [] and journal.db_failures == 0
        await intruder.close()
    finally:
        if second is None:
            second_start.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                second = await second_start
        if second is not None:
            await bounded(second.close(), "the second controller's shutdown")
        keys = [key async for key in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
