"""Stopping background tasks ends even when something under them swallows a cancellation."""

from __future__ import annotations

import asyncio
import contextlib

from cti.tasks import stop_task


async def test_a_task_that_swallows_the_first_cancel_is_cancelled_again_and_ends() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as redis-py's read does when the cancel lands at the wrong moment

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await stop_task(task, within=5.0, every=0.01)
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_never_ends_is_given_up_on_after_the_bound() -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(deaf(), name="deaf")
    await asyncio.sleep(0)
    assert not await stop_task(task, within=0.1, every=0.02)
    assert not task.done()
    release.set()
    assert await stop_task(task, within=1.0)


async def test_nothing_to_stop_and_a_task_that_failed_are_both_stopped() -> None:
    async def fails() -> None:
        raise RuntimeError("gone")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await stop_task(None)
    assert await stop_task(task)
