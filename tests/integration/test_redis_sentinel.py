"""cti through Redis Sentinel: the live store, the chat store, the webhooks' outbox and the lease, given a
redis+sentinel:// URL, follow a failover of the master (``kill -9``) with the same client objects, nothing rebuilt,
and lose nothing that was replicated. A private master, replica and three Sentinels of this test's own (the
cluster's configuration, cti.topology, on free ports in a temporary folder), never the machine's Redis. Every wait
is a bound for a failure, not a timing asserted; the times are printed (``-s``) for docs/scaling.md."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from cti.acd import Agent, AgentState, WorkItem
from cti.chat import ChatSession, NewMessage, Sender
from cti.cluster import Elector, LeaseTerms, RedisLease, Role
from cti.live import ChatStreams, LiveStore, LiveStoreError, WebhookOutbox
from cti.topology import plan_from_env
from cti.topology._configs import redis_config, sentinel_config
from tests.support import eventually, unavailable

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
PASSWORD = "sentinel-test-" + uuid.uuid4().hex[:12]
BOUND = 15.0
"""Seconds from the kill until cti's clients write again, at most (measured here: docs/scaling.md)."""
TERMS = LeaseTerms()
"""The default lease (10 s, renewed every 2 s): a failover of a few seconds must not depose the leader."""


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _start(tool: str, conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([tool, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclasses.dataclass
class Sentinels:
    """A master, its replica and three Sentinels, started from the cluster's own configuration files."""

    master_port: int
    replica_port: int
    sentinel_ports: list[int]
    master_name: str
    procs: dict[int, subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://:{PASSWORD}@{hosts}/{self.master_name}/0?sentinel_password={PASSWORD}"

    def client(self, port: int) -> aioredis.Redis:
        return aioredis.from_url(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", decode_responses=True,
                                 socket_timeout=2.0)

    async def master_named(self) -> tuple[str, int] | None:
        """What a Sentinel that answers names as the master now."""
        for port in self.sentinel_ports:
            client = self.client(port)
            try:
                address = await client.sentinel_get_master_addr_by_name(self.master_name)  # type: ignore[no-untyped-call]
                return (str(address[0]), int(address[1])) if address else None
            except (aioredis.RedisError, OSError):
                continue
            finally:
                await client.aclose()
        return None


@pytest.fixture
async def sentinels(tmp_path: Path) -> AsyncIterator[Sentinels]:
    for tool in ("redis-server", "redis-sentinel"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (Debian: redis-server, redis-sentinel)")
    master, replica, *watchers = _free_ports(5)
    plan = dataclasses.replace(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path)}), redis_ports=(master, replica),
                               sentinel_ports=tuple(watchers))
    procs: dict[int, subprocess.Popen[bytes]] = {}
    setup = Sentinels(master, replica, watchers, plan.master_name, procs)
    try:
        for port, replica_of in ((master, None), (replica, master)):
            (tmp_path / "redis" / str(port)).mkdir(parents=True)
            conf = tmp_path / "redis" / f"{port}.conf"
            conf.write_text(redis_config(plan, port, PASSWORD, replica_of))
            procs[port] = _start("redis-server", conf)
        for port in watchers:
            (tmp_path / "redis" / f"sentinel-{port}").mkdir(parents=True)
            conf = tmp_path / "redis" / f"sentinel-{port}.conf"
            conf.write_text(sentinel_config(plan, port, PASSWORD))
            procs[port] = _start("redis-sentinel", conf)

        async def ready() -> bool:
            # Each Sentinel knows the other two and the replica, and the replica follows: a failover can happen.
            for port in watchers:
                client = setup.client(port)
                try:
                    state = await client.sentinel_master(plan.master_name)  # type: ignore[no-untyped-call]
                except (aioredis.RedisError, OSError):
                    return False
                finally:
                    await client.aclose()
                if state.get("num-other-sentinels") != 2 or state.get("num-slaves") != 1:
                    return False
            client = setup.client(replica)
            try:
                info = await client.info("replication")
            except (aioredis.RedisError, OSError):
                return False
            finally:
                await client.aclose()
            return info.get("master_link_status") == "up"

        await eventually(ready, timeout=30, interval=0.2, message="the master, its replica and three Sentinels")
        yield setup
    finally:
        for proc in procs.values():  # this test's own processes, by their ids
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


async def _replicated(setup: Sentinels, port: int, marker: str) -> None:
    """Everything written to the master so far is on its replica: a write after it, and WAIT for one replica
    (replication is one ordered stream, so the replica that has this write has every one before)."""
    client = setup.client(port)
    try:
        await client.set(marker, "1")
        assert await client.execute_command("WAIT", 1, 5000) == 1
    finally:
        await client.aclose()


async def _until_ok(operation: Callable[[], object], started: float) -> float:
    """Seconds from ``started`` until ``operation`` (a coroutine function) succeeds, retried every 0.1 s."""
    failures = 0
    while True:
        try:
            result = await operation()  # type: ignore[misc]
        except LiveStoreError:
            result = False
        if result is not False:
            return time.monotonic() - started
        failures += 1
        assert time.monotonic() - started < BOUND, f"still failing {BOUND} s after the kill ({failures} tries)"
        await asyncio.sleep(0.1)


def _agent(state: AgentState) -> Agent:
    return Agent("ana", "Ana", "7001", state, state_since=T0)


async def test_the_live_store_the_chats_the_outbox_and_the_lease_follow_a_failover_with_the_same_clients(
        sentinels: Sentinels) -> None:
    prefix = f"cti-test-sentinel-{uuid.uuid4().hex[:8]}"
    url = sentinels.url
    lease = RedisLease(url, prefix, holder="controller-one")
    elector = Elector(lease, TERMS)
    live = LiveStore(url, prefix, fence=elector)
    chats = ChatStreams(url, prefix)
    outbox = WebhookOutbox(url, prefix)
    other = RedisLease(url, prefix, holder="controller-two")
    try:
        assert await elector.step() is Role.LEADER
        token = elector.token
        assert token is not None
        elector.start()
        calls = [WorkItem(f"c{n}", f"chan-c{n}", "0215550123", "1500100", "care", T0) for n in range(3)]
        assert await live.save([_agent(AgentState.READY)], calls) is True
        assert await live.save_sight(T0) is True
        session = ChatSession("k-1", "Siti", "id", T0, customer_id="10000001", secret_hash="ab")
        await chats.save_session(session)
        said = await chats.append("k-1", NewMessage(Sender.CUSTOMER, "halo", T0, author_name="Siti"))
        await outbox.append([("s1", "call.ended", b"1"), ("s1", "call.ended", b"2")])
        (handed,) = await outbox.read("s1", after=None, count=1, block_ms=100)  # pending until done
        await _replicated(sentinels, sentinels.master_port, f"{prefix}:marker")

        sentinels.procs[sentinels.master_port].kill()  # kill -9 of the master
        killed = time.monotonic()
        # Written while the master is gone: refused softly (dirty), as when Redis is away.
        assert await live.save([_agent(AgentState.NOT_READY)]) is False
        assert live.dirty
        with pytest.raises(LiveStoreError):
            await chats.append("k-1", NewMessage(Sender.CUSTOMER, "ada orang?", T0, author_name="Siti"))

        written = await _until_ok(lambda: live.save([_agent(AgentState.NOT_READY)]), killed)
        promoted = await sentinels.master_named()
        assert promoted == ("127.0.0.1", sentinels.replica_port)
        resynced = await live.resync([_agent(AgentState.NOT_READY)], calls)
        assert resynced is True and not live.dirty
        kept = await _until_ok(lambda: chats.append("k-1", NewMessage(Sender.AGENT, "ya", T0, author="1001",
                                                                        author_name="Budi")), killed)
        print(f"\nfailover: live store writes again {written:.1f} s after the kill, chat store {kept:.1f} s; "
              f"leader deposed: {elector.terms_led != 1}")

        # What was written and replicated before the kill is on the new master, read by the same clients.
        agents, found = await live.load()
        assert ([(a.agent_id, a.state) for a in agents], sorted(c.call_id for c in found)) == (
            [("ana", AgentState.NOT_READY)], ["c0", "c1", "c2"])
        assert await live.load_sight() == T0
        assert await chats.sessions() == [session]
        assert [m.text for m in await chats.after("k-1")] == ["halo", "ya"]
        assert (await chats.after("k-1"))[0] == said
        # The outbox's consumer group came along: the entry handed out is still pending, the next one is next.
        assert await outbox.read("s1", after="0", count=10, block_ms=0) == [handed]
        assert [e.body for e in await outbox.read("s1", after=None, count=10, block_ms=100)] == [b"2"]

        # The lease outlived the failover: the same leader, the same term, renewed on the new master.
        await asyncio.sleep(TERMS.renew_every * 1.5)
        assert (elector.role, elector.token, elector.terms_led) == (Role.LEADER, token, 1)
        assert await lease.holder_now() == ("controller-one", token)
        assert await other.acquire(TERMS.ttl_ms) is None  # held: nobody else may lead
        await elector.close()  # releases the lease
        newer = await other.acquire(TERMS.ttl_ms)
        assert newer is not None and newer > token
    finally:
        await elector.close()
        for store in (live, chats, outbox, lease, other):
            await store.close()


async def test_a_failed_write_of_the_sight_marks_the_live_store_dirty() -> None:
    live = LiveStore("redis://127.0.0.1:1/0", "cti-test-away")
    try:
        assert await live.save_sight(T0) is False
        assert live.dirty  # the whole picture is rewritten once Redis answers (after an outage, a failover)
    finally:
        await live.close()
