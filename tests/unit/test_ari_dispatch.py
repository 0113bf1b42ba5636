"""OrderedDispatcher: per-key order, cross-key concurrency, failure isolation, lane lifecycle."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from cti.ari import OrderedDispatcher
from cti.ari._dispatch import Job


async def test_per_key_order_preserved_under_concurrency() -> None:
    rng = random.Random(1234)
    dispatcher = OrderedDispatcher()
    seen: dict[str, list[int]] = {}
    keys = [f"chan-{k}" for k in range(20)]
    submissions = [(key, n) for n in range(50) for key in keys]
    rng.shuffle(submissions)
    expected: dict[str, list[int]] = {key: [] for key in keys}

    def job(key: str, n: int, pause: float) -> Job:
        async def run() -> None:
            await asyncio.sleep(pause)
            seen.setdefault(key, []).append(n)

        return run

    for key, n in submissions:
        expected[key].append(n)
        dispatcher.submit(key, job(key, n, rng.choice([0, 0, 0.0005, 0.001])))
    await dispatcher.drain()
    assert seen == expected
    assert dispatcher.active_lanes == 0
    await dispatcher.close()


async def test_different_keys_overlap() -> None:
    dispatcher = OrderedDispatcher()
    running = 0
    peak = 0
    release = asyncio.Event()

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    for key in ("a", "b", "c"):
        dispatcher.submit(key, job)
    await asyncio.sleep(0.01)
    assert peak == 3
    release.set()
    await dispatcher.drain()
    await dispatcher.close()


async def test_same_key_does_not_overlap() -> None:
    dispatcher = OrderedDispatcher()
    running = 0
    peak = 0

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    for _ in range(10):
        dispatcher.submit("a", job)
    await dispatcher.drain()
    assert peak == 1
    await dispatcher.close()


async def test_failing_job_is_logged_and_lane_continues(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = OrderedDispatcher()
    done: list[int] = []

    async def boom() -> None:
        raise ValueError("handler bug")

    async def ok() -> None:
        done.append(1)

    with caplog.at_level(logging.ERROR, logger="cti.ari"):
        dispatcher.submit("a", boom)
        dispatcher.submit("a", ok)
        await dispatcher.drain()
    assert done == [1]
    assert any("handler bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    await dispatcher.close()


async def test_job_cancelled_internally_does_not_stop_lane() -> None:
    dispatcher = OrderedDispatcher()
    done: list[str] = []

    async def cancelled_inside() -> None:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        inner.cancel()
        await inner  # CancelledError that is not aimed at the lane

    async def ok() -> None:
        done.append("ok")

    dispatcher.submit("a", cancelled_inside)
    dispatcher.submit("a", ok)
    await dispatcher.drain()
    assert done == ["ok"]
    await dispatcher.close()


async def test_idle_lanes_are_removed() -> None:
    dispatcher = OrderedDispatcher()

    async def job() -> None:
        await asyncio.sleep(0)

    for n in range(1000):
        dispatcher.submit(f"k{n}", job)
    assert dispatcher.active_lanes == 1000
    await dispatcher.drain()
    assert dispatcher.active_lanes == 0
    assert dispatcher.pending == 0
    assert not dispatcher._queues  # no per-key state left behind
    await dispatcher.close()


async def test_none_key_is_one_global_lane() -> None:
    dispatcher = OrderedDispatcher()
    order: list[int] = []

    def job(n: int) -> Job:
        async def run() -> None:
            await asyncio.sleep(0.001 * (5 - n))
            order.append(n)

        return run

    for n in range(5):
        dispatcher.submit(None, job(n))
    assert dispatcher.active_lanes == 1
    await dispatcher.drain()
    assert order == [0, 1, 2, 3, 4]
    await dispatcher.close()


async def test_drain_waits_for_jobs_submitted_by_jobs() -> None:
    dispatcher = OrderedDispatcher()
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.005)
        done.append("second")

    async def first() -> None:
        dispatcher.submit("other", second)
        done.append("first")

    dispatcher.submit("a", first)
    await dispatcher.drain()
    assert done == ["first", "second"]
    await dispatcher.close()


async def test_drain_from_inside_a_job_is_refused() -> None:
    dispatcher = OrderedDispatcher()
    errors: list[BaseException] = []

    async def job() -> None:
        assert dispatcher.in_job()
        try:
            await dispatcher.drain()
        except RuntimeError as exc:
            errors.append(exc)

    dispatcher.submit("a", job)
    await dispatcher.drain()
    assert len(errors) == 1
    assert not dispatcher.in_job()
    await dispatcher.close()


async def test_close_cancels_running_and_drops_queued() -> None:
    dispatcher = OrderedDispatcher()
    started = asyncio.Event()
    cancelled: list[bool] = []
    ran_second: list[bool] = []

    async def long() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def second() -> None:
        ran_second.append(True)

    dispatcher.submit("a", long)
    dispatcher.submit("a", second)
    await started.wait()
    await dispatcher.close()
    assert cancelled == [True]
    assert ran_second == []
    assert dispatcher.active_lanes == 0
    with pytest.raises(RuntimeError):
        dispatcher.submit("a", second)


async def test_close_from_inside_a_job() -> None:
    dispatcher = OrderedDispatcher()
    other_cancelled = asyncio.Event()
    finished: list[str] = []

    async def other() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            other_cancelled.set()
            raise

    async def closer() -> None:
        await asyncio.sleep(0.001)
        await dispatcher.close()
        finished.append("closer")

    async def never() -> None:
        finished.append("never")

    dispatcher.submit("b", other)
    dispatcher.submit("a", closer)
    dispatcher.submit("a", never)
    await asyncio.wait_for(other_cancelled.wait(), 1)
    await asyncio.sleep(0.01)
    assert finished == ["closer"]
    assert dispatcher.active_lanes == 0
