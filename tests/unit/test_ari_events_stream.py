"""EventStream: resync-before-dispatch, ordering, garbage tolerance, reconnect/backoff and stop.

No network: ``aiohttp.ClientSession.ws_connect`` is replaced by a scripted fake Asterisk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from cti.ari import Event, EventStream, StasisStart


class FakeSocket:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[aiohttp.WSMessage | None] = asyncio.Queue()
        self.closed = False

    def text(self, data: str) -> None:
        self._queue.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, data, None))

    def event(self, event_type: str, channel_id: str | None = None, **fields: Any) -> None:
        frame: dict[str, Any] = {"type": event_type, "application": "cti-dev", "timestamp": "t", **fields}
        if channel_id is not None:
            frame["channel"] = {"id": channel_id}
        self.text(json.dumps(frame))

    def binary(self) -> None:
        self._queue.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"\x00", None))

    def drop(self) -> None:
        self._queue.put_nowait(None)

    async def close(self) -> bool:
        self.closed = True
        self._queue.put_nowait(None)
        return True

    def exception(self) -> BaseException | None:
        return None

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> aiohttp.WSMessage:
        msg = await self._queue.get()
        if msg is None:
            raise StopAsyncIteration
        return msg


class FakeAsterisk:
    """Each connect attempt takes the next scripted outcome: a FakeSocket or an exception."""

    def __init__(self) -> None:
        self.outcomes: asyncio.Queue[FakeSocket | BaseException] = asyncio.Queue()
        self.attempts: list[dict[str, Any]] = []

    def up(self) -> FakeSocket:
        sock = FakeSocket()
        self.outcomes.put_nowait(sock)
        return sock

    def down(self, n: int = 1) -> None:
        for _ in range(n):
            self.outcomes.put_nowait(aiohttp.ClientConnectionError("Connection refused"))

    async def ws_connect(self, session: aiohttp.ClientSession, url: Any, **kwargs: Any) -> FakeSocket:
        self.attempts.append({"url": str(url), "auth": session.headers.get("Authorization"), **kwargs})
        outcome = await self.outcomes.get()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
def fake_asterisk(monkeypatch: pytest.MonkeyPatch) -> FakeAsterisk:
    fake = FakeAsterisk()

    async def ws_connect(self: aiohttp.ClientSession, url: Any, **kwargs: Any) -> FakeSocket:
        return await fake.ws_connect(self, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "ws_connect", ws_connect)
    return fake


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str | None]] = []
        self.changed = asyncio.Event()

    async def handler(self, event: Event) -> None:
        await asyncio.sleep(0.001 if event.key == "slow" else 0)
        self.log.append((event.type, event.key))
        self.changed.set()

    async def on_connect(self) -> None:
        self.log.append(("on_connect", None))

    async def wait_for(self, n: int) -> None:
        async with asyncio.timeout(2):
            while len(self.log) < n:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def running(fake_asterisk: FakeAsterisk) -> AsyncIterator[tuple[EventStream, Recorder, asyncio.Task[None]]]:
    rec = Recorder()
    stream = EventStream(
        "http://127.0.0.1:8088",
        "cti",
        "secret",
        "cti-dev",
        handler=rec.handler,
        on_connect=rec.on_connect,
        backoff_initial=0.001,
        backoff_max=0.004,
        heartbeat=7.0,
    )
    task = asyncio.create_task(stream.run())
    try:
        yield stream, rec, task
    finally:
        await stream.stop()
        await task


async def test_on_connect_runs_before_events_and_lanes_keep_order(
    fake_asterisk: FakeAsterisk, running: tuple[EventStream, Recorder, asyncio.Task[None]]
) -> None:
    stream, rec, _ = running
    sock = fake_asterisk.up()
    # Queued before the connect completes: must still be handled after on_connect.
    sock.event("StasisStart", "slow", args=["inbound"])
    sock.event("ChannelStateChange", "fast")
    sock.event("StasisEnd", "slow")
    assert await stream.wait_connected(2)
    await rec.wait_for(4)
    assert rec.log[0] == ("on_connect", None)
    assert [e for e in rec.log if e[1] == "slow"] == [("StasisStart", "slow"), ("StasisEnd", "slow")]
    assert ("ChannelStateChange", "fast") in rec.log
    assert stream.is_connected
    assert stream.events_received == 3
    attempt = fake_asterisk.attempts[0]
    assert attempt["url"] == "ws://127.0.0.1:8088/ari/events?app=cti-dev&subscribeAll=false"
    assert attempt["auth"] == "Basic Y3RpOnNlY3JldA=="
    assert attempt["heartbeat"] == 7.0


async def test_garbage_frames_are_skipped(
    fake_asterisk: FakeAsterisk,
    running: tuple[EventStream, Recorder, asyncio.Task[None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream, rec, _ = running
    sock = fake_asterisk.up()
    with caplog.at_level(logging.WARNING, logger="cti.ari"):
        sock.text("not json at all")
        sock.text("[1, 2]")
        sock.text(json.dumps({"application": "cti-dev"}))
        sock.text(json.dumps({"type": "StasisStart", "channel": {"name": "no id"}}))
        sock.binary()
        sock.event("StasisEnd", "c1")
        await rec.wait_for(2)
    assert rec.log == [("on_connect", None), ("StasisEnd", "c1")]
    assert stream.frames_invalid == 4
    assert stream.events_received == 1
    assert stream.is_connected
    assert sum("invalid frame" in r.getMessage() for r in caplog.records) == 4


async def test_reconnects_after_failures_and_drops_and_resyncs_each_time(
    fake_asterisk: FakeAsterisk, running: tuple[EventStream, Recorder, asyncio.Task[None]]
) -> None:
    stream, rec, _ = running
    fake_asterisk.down(3)
    first = fake_asterisk.up()
    assert await stream.wait_connected(2)
    first.event("StasisStart", "c1")
    await rec.wait_for(2)
    first.drop()
    fake_asterisk.down(2)
    second = fake_asterisk.up()
    second.event("StasisEnd", "c1")
    await rec.wait_for(4)
    assert rec.log == [("on_connect", None), ("StasisStart", "c1"), ("on_connect", None), ("StasisEnd", "c1")]
    assert first.closed
    assert (stream.connects, stream.reconnects) == (2, 1)
    assert len(fake_asterisk.attempts) == 7


async def test_not_connected_while_down(
    fake_asterisk: FakeAsterisk, running: tuple[EventStream, Recorder, asyncio.Task[None]]
) -> None:
    stream, _, _ = running
    sock = fake_asterisk.up()
    assert await stream.wait_connected(2)
    sock.drop()
    await asyncio.sleep(0.01)  # the fake never answers the next attempt
    assert not stream.is_connected
    assert not await stream.wait_connected(0.01)


async def test_failed_on_connect_reconnects_without_dispatching(fake_asterisk: FakeAsterisk) -> None:
    handled: list[Event] = []
    calls = 0

    async def handler(event: Event) -> None:
        handled.append(event)

    async def on_connect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("GET /channels failed")

    stream = EventStream(
        "http://x:8088", "u", "p", "cti-dev", handler=handler, on_connect=on_connect, backoff_initial=0.001
    )
    task = asyncio.create_task(stream.run())
    first = fake_asterisk.up()
    first.event("StasisStart", "c1")
    second = fake_asterisk.up()
    assert await stream.wait_connected(2)
    assert calls == 2
    assert first.closed
    second.event("StasisEnd", "c1")
    await asyncio.wait_for(_until(lambda: stream.events_received == 1), 2)
    await stream.stop()
    await task
    assert [e.type for e in handled] == ["StasisEnd"]  # the failed connection's event was never dispatched


async def test_backoff_doubles_caps_and_resets(
    fake_asterisk: FakeAsterisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []

    async def record(self: EventStream, delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(EventStream, "_backoff", record)

    async def handler(event: Event) -> None:
        pass

    stream = EventStream(
        "http://x:8088", "u", "p", "a", handler=handler, backoff_initial=0.5, backoff_max=10.0
    )
    task = asyncio.create_task(stream.run())
    fake_asterisk.down(7)
    sock = fake_asterisk.up()
    assert await stream.wait_connected(2)
    sock.drop()
    fake_asterisk.down(1)
    fake_asterisk.up()
    assert await asyncio.wait_for(_until(lambda: stream.connects == 2 and stream.is_connected), 2)
    await stream.stop()
    await task
    # 7 failures, then a connect (reset), then the drop and one more failure start from the bottom again.
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 0.5, 1.0]


async def test_backoff_jitter_stays_within_half_to_full(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(event: Event) -> None:
        pass

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    pauses: list[float] = []

    async def fake_wait_for(aw: Any, timeout: float) -> None:
        pauses.append(timeout)
        aw.close()
        raise TimeoutError

    monkeypatch.setattr(asyncio, "wait_for", fake_wait_for)
    for _ in range(50):
        await stream._backoff(2.0)
    assert all(1.0 <= p <= 2.0 for p in pauses)
    assert len(set(pauses)) > 1


async def test_stop_during_backoff_is_prompt(fake_asterisk: FakeAsterisk) -> None:
    async def handler(event: Event) -> None:
        pass

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler, backoff_initial=60, backoff_max=60)
    task = asyncio.create_task(stream.run())
    fake_asterisk.down(1)
    await asyncio.sleep(0.01)
    async with asyncio.timeout(1):
        await stream.stop()
    assert task.done()
    assert task.exception() is None


async def test_stop_while_connecting_and_before_run(fake_asterisk: FakeAsterisk) -> None:
    async def handler(event: Event) -> None:
        pass

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    await asyncio.sleep(0.01)  # stuck in ws_connect: the fake has no outcome queued
    await stream.stop()
    assert task.done() and not task.cancelled()
    never_run = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    await never_run.stop()


async def test_stop_lets_received_events_finish(fake_asterisk: FakeAsterisk) -> None:
    done: list[str] = []

    async def handler(event: Event) -> None:
        await asyncio.sleep(0.02)
        done.append(event.type)

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    sock = fake_asterisk.up()
    assert await stream.wait_connected(2)
    sock.event("StasisStart", "c1")
    sock.event("StasisEnd", "c1")
    await asyncio.wait_for(_until(lambda: stream.events_received == 2), 2)
    await stream.stop()
    await task
    assert done == ["StasisStart", "StasisEnd"]
    assert sock.closed
    assert not stream.is_connected


async def test_stop_drain_is_bounded(fake_asterisk: FakeAsterisk) -> None:
    cancelled = asyncio.Event()

    async def handler(event: Event) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    sock = fake_asterisk.up()
    sock.event("StasisStart", "c1")
    await asyncio.wait_for(_until(lambda: stream.events_received == 1), 2)
    async with asyncio.timeout(1):
        await stream.stop(drain_timeout=0.01)
    await task
    assert cancelled.is_set()


async def test_stop_from_a_handler(fake_asterisk: FakeAsterisk) -> None:
    stream: EventStream

    async def handler(event: Event) -> None:
        assert isinstance(event, StasisStart)
        await stream.stop()

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    sock = fake_asterisk.up()
    sock.event("StasisStart", "c1")
    async with asyncio.timeout(2):
        await task
    assert sock.closed


async def test_stop_from_on_connect(fake_asterisk: FakeAsterisk) -> None:
    stream: EventStream

    async def handler(event: Event) -> None:
        pass

    async def on_connect() -> None:
        await stream.stop()

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler, on_connect=on_connect)
    task = asyncio.create_task(stream.run())
    fake_asterisk.up()
    async with asyncio.timeout(2):
        await task
    assert not stream.is_connected


async def test_outside_cancellation_propagates(fake_asterisk: FakeAsterisk) -> None:
    async def handler(event: Event) -> None:
        pass

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    fake_asterisk.up()
    assert await stream.wait_connected(2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not stream.is_connected


async def test_run_twice_is_refused(fake_asterisk: FakeAsterisk) -> None:
    async def handler(event: Event) -> None:
        pass

    stream = EventStream("http://x:8088", "u", "p", "a", handler=handler)
    task = asyncio.create_task(stream.run())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await stream.run()
    await stream.stop()
    await task


async def test_application_replaced_is_logged_and_dispatched(
    fake_asterisk: FakeAsterisk,
    running: tuple[EventStream, Recorder, asyncio.Task[None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, rec, _ = running
    sock = fake_asterisk.up()
    with caplog.at_level(logging.ERROR, logger="cti.ari"):
        sock.event("ApplicationReplaced")
        await rec.wait_for(2)
    assert rec.log[1] == ("ApplicationReplaced", None)
    assert any("taken over" in r.getMessage() for r in caplog.records)


async def _until(predicate: Callable[[], bool]) -> bool:
    # Polling: the counters under test have no event to wait on, and callers bound this with wait_for.
    while True:
        if predicate():
            return True
        await asyncio.sleep(0.001)


async def test_a_controller_that_does_not_lead_never_connects(fake_asterisk: FakeAsterisk) -> None:
    """Connecting registers the app in Asterisk, which then sends its events here and not to the leader: a
    deposed controller whose socket dropped (frozen past its lease) must not reconnect, not even once."""
    leads = False
    asked = 0

    async def handler(event: Event) -> None:
        raise AssertionError("no event without a connection")

    def may_connect() -> bool:
        nonlocal asked
        asked += 1
        return leads

    stream = EventStream("http://x:8088", "u", "p", "cti", handler=handler, may_connect=may_connect,
                         backoff_initial=0.001, backoff_max=0.002)
    task = asyncio.create_task(stream.run())
    fake_asterisk.up()
    await asyncio.wait_for(_until(lambda: asked >= 5), 2)
    assert fake_asterisk.attempts == [] and not stream.is_connected
    leads = True  # leading again (a new term): it connects
    assert await stream.wait_connected(2)
    assert len(fake_asterisk.attempts) == 1
    await stream.stop()
    await task
