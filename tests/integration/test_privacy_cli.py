"""``cti customers forget`` and ``cti retention run`` through the real ``cti`` entry point (a subprocess), on a
SQLite database, the session's Redis and prompt audio rendered by espeak-ng: what they erase, what they print,
the running server they tell, and what they refuse."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cti.crm import CustomerFields
from cti.live import LiveStore
from cti.persistence import AuditRepository, CustomerRepository, Database, InteractionRepository
from cti.speech import PromptRenderer
from tests.integration.test_erasure_store import NEEDLES, TOLD, call, live_call, subscribed, wrap
from tests.privacy import redis_holding, tables_holding
from tests.support import eventually, unavailable

FLOWS = Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml"
SHARED = "Selamat datang di layanan pelanggan kami."  # a static prompt of the flows: every caller hears it
NAME, NATIONAL = "Ratna Kusumawati", "081355507788"


def audited(stderr: str) -> list[str]:
    """The audit lines a command wrote (its log, on stderr), without their time stamps."""
    return [line.split(" INFO ", 1)[1] for line in stderr.splitlines() if " INFO cti.cli: " in line]


def said(stderr: str) -> list[str]:
    """What a command told its operator on stderr, its log lines aside."""
    return [line for line in stderr.splitlines() if " INFO " not in line]


def cti(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The ``cti`` command as an operator runs it: the installed entry point, in a process of its own."""
    command = shutil.which("cti", path=str(Path(sys.executable).parent)) or "cti"
    return subprocess.run([command, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
async def setup(tmp_path: Path, redis_url: str) -> AsyncIterator[dict[str, Any]]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    prefix = f"cti-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CTI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cti.db", "CTI_REDIS_URL": redis_url,
           "CTI_REDIS_PREFIX": prefix, "CTI_SOUNDS_DIR": str(tmp_path / "sounds"), "CTI_IVR_FLOWS": str(FLOWS),
           "CTI_ARI_PASSWORD": "ari-secret", "CTI_ADMIN_TOKEN": "Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA"}
    live = LiveStore(redis_url, prefix)
    if not await live.ping():
        unavailable(f"no Redis at {redis_url}")
    try:
        yield {"env": env, "url": env["CTI_DATABASE_URL"], "live": live, "sounds": tmp_path / "sounds",
               "prefix": prefix, "redis_url": redis_url}
    finally:
        keys = [key async for key in live._redis.scan_iter(match=live.key("*"))]
        if keys:
            await live._redis.delete(*keys)
        await live.close()


async def customer_with_calls(url: str, arrived: datetime) -> str:
    async with Database(url) as db:
        await db.upgrade()
        customer = await CustomerRepository(db).create_customer(CustomerFields(
            name=NAME, phones=(NATIONAL,), email="ratna.kusuma@example.org", address="Jl. Melati 7 RT 03"))
        heard = {**(call("c1").ivr or {}), "prompts": [SHARED, TOLD]}
        await InteractionRepository(db).save(call("c1", arrived, customer_id=customer.customer_id, ivr=heard))
        await wrap(db, "c1", customer.customer_id)
        return customer.customer_id


def render(sounds: Path, *texts: str) -> list[Path]:
    """Cached audio of ``texts``, as the IVR of a version before this one left it (by their words)."""
    renderer = PromptRenderer(sounds)
    try:
        return [renderer.render_sync(text, "id").wav for text in texts]
    finally:
        renderer.close()


async def test_forget_erases_everywhere_it_reaches_and_tells_the_running_server(setup: dict[str, Any]) -> None:
    env, url, live = setup["env"], setup["url"], setup["live"]
    customer_id = await customer_with_calls(url, datetime.now(UTC))
    await live.save(calls=[live_call("c1", customer_id=customer_id)])  # left by a controller that died mid-call
    await live.save(calls=[live_call("c9", caller_number="0215550009", caller_name="Budi")])  # someone's, live
    told, shared = render(setup["sounds"], TOLD, SHARED)
    heard: list[tuple[str, tuple[str, ...]]] = []

    async def server() -> None:  # what a running server does with the notice (cti.bootstrap)
        async for notice in live.erasures():
            heard.append(notice)
            return

    listening = asyncio.create_task(server())
    await eventually(lambda: subscribed(live), message="the server to listen")

    busy = await asyncio.to_thread(cti, env, "customers", "forget", customer_id)
    assert (busy.returncode, busy.stdout, said(busy.stderr)) == (
        1, "", [f"cti: customer {customer_id} is on a call now; erase them once it has ended"])
    user = getpass.getuser()
    assert audited(busy.stderr) == [f"cti.cli: erase of customer {customer_id} by system user {user}: refused "
                                    "(CustomerOnCall)"]
    assert NAME in str(await tables_holding(url, [NAME]))  # nothing was erased
    # The server is stopped and its picture in Redis is stale: the operator says so.
    done = await asyncio.to_thread(cti, env, "customers", "forget", customer_id, "--json", "--force")

    assert (done.returncode, said(done.stderr)) == (0, []), done.stderr
    assert audited(done.stderr) == [f"cti.cli: erase of customer {customer_id} by system user {user}: done: "
                                    "customer 1, phones 1, contacts 1, cases 0, orders 0, interactions 1, "
                                    "dead_letters 0, live_calls 1, prompt_files 2, recordings 0, servers_notified 1"]
    assert json.loads(done.stdout) == {"customer_id": customer_id, "erased": {
        "customer": 1, "phones": 1, "contacts": 1, "cases": 0, "orders": 0, "interactions": 1, "dead_letters": 0,
        "live_calls": 1, "prompt_files": 2, "recordings": 0, "servers_notified": 1}}
    # Both runs are in the audit log too, by the operator, with ids and counts only.
    async with Database(url) as db:
        entries = await AuditRepository(db).search(subject_type="customer", subject_id=customer_id)
    assert [(e.actor, e.action, e.source, (e.detail or {})["outcome"]) for e in reversed(entries)] == [
        (f"cli:{user}", "erase", "cli", "refused (CustomerOnCall)"), (f"cli:{user}", "erase", "cli", "done")]
    await asyncio.wait_for(listening, 10)
    assert heard == [(customer_id, ("c1",))]
    assert await tables_holding(url, NEEDLES) == {}
    assert await redis_holding(setup["redis_url"], setup["prefix"], [*NEEDLES, customer_id, '"c1"']) == {}
    assert sorted(await live._redis.smembers(live.key("calls"))) == ["c9"]
    assert not told.exists() and shared.exists()  # the flows' own prompts stay, whoever heard them

    again = await asyncio.to_thread(cti, env, "customers", "forget", customer_id)
    assert (again.returncode, again.stdout) == (0, f"customer {customer_id} erased: customer 0, phones 0, "
                                                   "contacts 0, cases 0, orders 0, interactions 0, dead_letters 0, "
                                                   "live_calls 0, prompt_files 0, recordings 0, servers_notified 0\n")


async def test_forget_refuses_an_unknown_customer_and_needs_redis(setup: dict[str, Any]) -> None:
    env, url = setup["env"], setup["url"]
    customer_id = await customer_with_calls(url, datetime.now(UTC))
    unknown = await asyncio.to_thread(cti, env, "customers", "forget", "99999999")
    assert (unknown.returncode, unknown.stdout, said(unknown.stderr)) == (1, "", ["cti: no customer '99999999'"])
    # Without Redis the server's live calls are unknown: nothing is erased rather than half of it.
    away = await asyncio.to_thread(cti, {**env, "CTI_REDIS_URL": "redis://127.0.0.1:1/0"}, "customers", "forget",
                                   customer_id)
    assert away.returncode == 1 and said(away.stderr)[0].startswith("cti: cannot load live state from Redis: ")
    assert NAME in str(await tables_holding(url, [NAME]))


async def test_retention_run_purges_what_is_older_than_the_retention(setup: dict[str, Any]) -> None:
    env, url = setup["env"], setup["url"]
    now = datetime.now(UTC)
    customer_id = await customer_with_calls(url, now - timedelta(days=40))
    async with Database(url) as db:
        await InteractionRepository(db).save(call("recent", now - timedelta(days=5), customer_id=customer_id))
    told, shared = render(setup["sounds"], TOLD, SHARED)

    off = await asyncio.to_thread(cti, {**env, "CTI_INTERACTION_RETENTION_DAYS": "0"}, "retention", "run")
    assert (off.returncode, said(off.stderr)) == (
        2, ["cti: retention is off (CTI_INTERACTION_RETENTION_DAYS=0); name --days to purge anyway"])
    done = await asyncio.to_thread(cti, {**env, "CTI_INTERACTION_RETENTION_DAYS": "30"}, "retention", "run",
                                   "--json")

    assert done.returncode == 0, done.stderr
    assert audited(done.stderr) == [f"cti.cli: erase of retention older than 30 days by system user "
                                    f"{getpass.getuser()}: done: interactions 1, contacts 1, prompt_files 2, "
                                    "recordings 0"]
    report = json.loads(done.stdout)
    assert {k: v for k, v in report.items() if k != "before"} == {"interactions": 1, "contacts": 1,
                                                                  "prompt_files": 2, "recordings": 0}
    assert now - timedelta(days=30) <= datetime.fromisoformat(report["before"]) <= datetime.now(UTC) - timedelta(
        days=30)
    assert not told.exists() and shared.exists()
    async with Database(url) as db:
        old, recent = await InteractionRepository(db).get("c1"), await InteractionRepository(db).get("recent")
    assert old is not None and (old.caller_number, old.notes, old.outcome) == ("anonymous", None, "answered")
    assert recent is not None and (recent.caller_number, recent.caller_name) == (NATIONAL, NAME)
    # The CRM record itself stays until the customer is erased; only the interactions' copies went.
    assert set(await tables_holding(url, [NAME])) == {"customers.name", "customers.search_name",
                                                         "interactions.caller_name"}
