"""The leader's frame stream on the real Redis (docs/scaling.md, *Web front ends*): a leader's hub mirrors every
frame into one stream, a front end's hub republishes them under the leader's topics and numbers, in order; a front
end whose connection to Redis dropped reads on from where it was (nothing missed, nothing twice); a new leader's
term empties the front end's topics; a deposed leader's frames are refused; erasure deletes the stream's frames
that mention the customer. Each test has a key prefix of its own."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from cti.live import FrameStream
from cti.web import FrontEnd, Hub
from tests.integration.test_cluster_lease import PrivateRedis, private_redis  # noqa: F401 (a fixture)

PATIENCE = 15.0


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    name = f"cti-test-frames-{uuid.uuid4().hex[:8]}"
    yield name
    client = aioredis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < deadline, f"not within {PATIENCE} s: {what}"
        await asyncio.sleep(0.02)


def _frames(hub: Hub, topic: str) -> list[tuple[int, str]]:
    return [(frame.seq, frame.text) for frame in hub.topic(topic).buffer]


async def test_a_front_end_holds_the_leaders_frames_in_order_under_its_numbers(redis_url: str, prefix: str) -> None:
    stream = FrameStream(redis_url, prefix)
    leader = Hub(tap=stream)
    stream.start(7, "http://127.0.0.1:1")
    reader = FrameStream(redis_url, prefix)
    front = FrontEnd(Hub(), reader)
    front.start()
    try:
        for i in range(60):
            leader.publish("agent:a1", "agent", {"i": i})
            if i % 3 == 0:
                leader.publish("dashboard", "live", {"i": i})
        await _until(lambda: front.hub.topic("agent:a1").seq == 60 and front.hub.topic("dashboard").seq == 20,
                     "every frame relayed")
        assert _frames(front.hub, "agent:a1") == _frames(leader, "agent:a1")
        assert _frames(front.hub, "dashboard") == _frames(leader, "dashboard")
        assert front.term == 7
        assert front.relayed == 80
        assert json.loads(front.hub.topic("agent:a1").buffer[-1].text) == {"seq": 60, "type": "agent",
                                                                          "data": {"i": 59}}
        # The leader's address, for the front end to forward to.
        assert await reader.leader() == ("http://127.0.0.1:1", 7)
        # A second front end started later reads the stream from its start: the same buffers.
        late_reader = FrameStream(redis_url, prefix)
        late = FrontEnd(Hub(), late_reader)
        late.start()
        try:
            await _until(lambda: late.hub.topic("agent:a1").seq == 60, "the late front end caught up")
            assert _frames(late.hub, "agent:a1") == _frames(leader, "agent:a1")
        finally:
            await late.close()
            await late_reader.close()
    finally:
        await front.close()
        await reader.close()
        await stream.close()


async def test_a_front_end_reads_on_after_its_redis_connection_dropped(private_redis: PrivateRedis,  # noqa: F811
                                                                        tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    stream = FrameStream(url, "cti")
    leader = Hub(tap=stream)
    stream.start(1, "http://127.0.0.1:1")
    reader = FrameStream(url, "cti")
    front = FrontEnd(Hub(), reader)
    front.start()
    admin = aioredis.from_url(url)
    try:
        for i in range(100):
            leader.publish("agent:a1", "agent", {"i": i})
        await _until(lambda: front.hub.topic("agent:a1").seq == 100, "the first hundred relayed")
        for round_ in range(3):
            # Every client's connection cut (the admin's own too): the writer retries, the reader reads on.
            await admin.execute_command("CLIENT", "KILL", "TYPE", "normal")
            for i in range(50):
                leader.publish("agent:a1", "agent", {"round": round_, "i": i})
            await asyncio.sleep(0.05)
        await _until(lambda: front.hub.topic("agent:a1").seq == 250, "the frames after the cuts relayed")
        assert _frames(front.hub, "agent:a1") == _frames(leader, "agent:a1")
        assert front.relayed == 250  # each once: none read twice
        assert [seq for seq, _ in _frames(front.hub, "agent:a1")] == list(range(1, 251))
        assert front.stream_up
    finally:
        await admin.aclose()
        await front.close()
        await reader.close()
        await stream.close()


async def test_a_new_term_empties_the_front_ends_topics_and_an_older_one_is_ignored(redis_url: str,
                                                                                    prefix: str) -> None:
    old = FrameStream(redis_url, prefix)
    old_hub = Hub(tap=old)
    old.start(100, "http://127.0.0.1:1")
    reader = FrameStream(redis_url, prefix)
    front = FrontEnd(Hub(), reader)
    front.start()
    try:
        for i in range(5):
            old_hub.publish("agent:a1", "agent", {"term": 100, "i": i})
        await _until(lambda: front.hub.topic("agent:a1").seq == 5, "the old term's frames relayed")
        new = FrameStream(redis_url, prefix)
        new_hub = Hub(tap=new)
        new.start(200, "http://127.0.0.1:2")
        new_hub.publish("agent:a1", "agent", {"term": 200, "i": 0})
        await _until(lambda: front.term == 200, "the new term adopted")
        await _until(lambda: front.hub.topic("agent:a1").seq == 1, "the new term's first frame")
        assert [json.loads(text)["data"] for _, text in _frames(front.hub, "agent:a1")] == [{"term": 200, "i": 0}]
        assert front.resets == 1
        # A frame of the older term arriving now (it would be a deposed leader's) changes nothing.
        old_hub.publish("agent:a1", "agent", {"term": 100, "i": 5})
        new_hub.publish("agent:a1", "agent", {"term": 200, "i": 1})
        await _until(lambda: front.hub.topic("agent:a1").seq == 2, "the new term's second frame")
        assert [json.loads(text)["data"] for _, text in _frames(front.hub, "agent:a1")] == [
            {"term": 200, "i": 0}, {"term": 200, "i": 1}]
        await new.close()
    finally:
        await front.close()
        await reader.close()
        await old.close()


class _Fence:
    def __init__(self, prefix: str, token: int | None) -> None:
        self.key = f"{prefix}:leader:token"
        self.token = token


async def test_a_deposed_leader_mirrors_nothing(redis_url: str, prefix: str) -> None:
    client = aioredis.from_url(redis_url, decode_responses=True)
    await client.set(f"{prefix}:leader:token", "42")
    current, deposed = FrameStream(redis_url, prefix), FrameStream(redis_url, prefix)
    current.start(42, "http://127.0.0.1:1", fence=_Fence(prefix, 42))
    deposed.start(41, "http://127.0.0.1:2", fence=_Fence(prefix, 41))
    try:
        Hub(tap=deposed).publish("agent:a1", "agent", {"from": 41})
        Hub(tap=current).publish("agent:a1", "agent", {"from": 42})
        await _until(lambda: current.written == 1, "the leader's frame written")
        await asyncio.sleep(0.2)
        entries = await client.xrange(f"{prefix}:frames")
        assert [(fields["term"], json.loads(fields["text"])["data"]) for _, fields in entries] == [
            ("42", {"from": 42})]
        assert deposed.written == 0
    finally:
        await client.aclose()
        await current.close()
        await deposed.close()


async def test_erasure_deletes_the_frames_that_mention_the_customer_and_flushes_the_front_ends(
        redis_url: str, prefix: str) -> None:
    stream = FrameStream(redis_url, prefix)
    leader = Hub(tap=stream)
    stream.start(3, "http://127.0.0.1:1")
    reader = FrameStream(redis_url, prefix)
    front = FrontEnd(Hub(), reader)
    front.start()
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        leader.publish("agent:a1", "offer", {"caller": "+6281234567"})
        leader.publish("agent:a2", "agent", {"state": "ready"})
        await _until(lambda: front.hub.topic("agent:a2").seq == 1, "relayed")
        assert leader.forget(['"+6281234567"']) == 1  # the leader's buffer, and a flush for the front ends
        await _until(lambda: not front.hub.topic("agent:a1").buffer, "the front end's buffer flushed")
        assert await stream.forget(['"+6281234567"']) == 1
        texts = [fields["text"] for _, fields in await client.xrange(f"{prefix}:frames")]
        assert not any("+6281234567" in text for text in texts)
        assert len(front.hub.topic("agent:a2").buffer) == 1  # the others' kept
    finally:
        await client.aclose()
        await front.close()
        await reader.close()
        await stream.close()


def test_a_gap_in_the_leaders_numbers_empties_the_replay_buffer() -> None:
    hub = Hub()
    assert hub.relay("agent:a1", 5, "agent", '{"seq":5}')  # a front end's first frame: wherever the leader is
    assert hub.relay("agent:a1", 6, "agent", '{"seq":6}')
    assert not hub.relay("agent:a1", 6, "agent", '{"seq":6}')  # read twice: dropped
    assert hub.topic("agent:a1").since(5) is not None
    assert hub.relay("agent:a1", 9, "agent", '{"seq":9}')  # 7 and 8 never came
    assert [f.seq for f in hub.topic("agent:a1").buffer] == [9]
    assert hub.topic("agent:a1").since(6) is None  # a page that saw 6 gets a snapshot, not 9 alone
