"""Per-key ordered, cross-key concurrent job execution.

ARI delivers one stream of events for all calls. Handling them one at a time would let one slow handler
(a REST round trip, a database write) stall every other call; handling each in its own task would let a
channel's StasisEnd overtake its StasisStart. So each key (a channel or bridge id) gets a lane: jobs in a
lane run strictly in submission order, lanes run concurrently. A lane's worker exists only while it has
work, so the number of tasks follows the number of busy calls, not the number of calls ever seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["Job", "OrderedDispatcher"]

logger = logging.getLogger("cti.ari")

Job = Callable[[], Awaitable[None]]


class OrderedDispatcher:
    """Runs jobs in per-key FIFO lanes; ``key=None`` jobs share one global lane."""

    def __init__(self) -> None:
        self._queues: dict[str | None, deque[Job]] = {}
        self._workers: dict[str | None, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def active_lanes(self) -> int:
        """Lanes that have queued or running work."""
        return len(self._workers)

    @property
    def pending(self) -> int:
        """Jobs queued and not yet started, across all lanes."""
        return sum(len(queue) for queue in self._queues.values())

    def in_job(self) -> bool:
        """Whether the calling task is one of this dispatcher's lanes (i.e. we are inside a job)."""
        current = asyncio.current_task()
        return current is not None and current in self._workers.values()

    def submit(self, key: str | None, job: Job) -> None:
        """Queue ``job`` behind every job already submitted with the same ``key``."""
        if self._closed:
            raise RuntimeError("OrderedDispatcher is closed")
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(job)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._run_lane(key, queue), name=f"cti.ari lane {key}")

    async def drain(self) -> None:
        """Wait until every job submitted so far, and any they submit, has finished."""
        current = asyncio.current_task()
        while self._workers:
            workers = list(self._workers.values())
            if current in workers:
                raise RuntimeError("drain() called from inside a dispatched job would wait for itself")
            await asyncio.wait(workers)

    async def close(self) -> None:
        """Cancel all lanes, dropping queued jobs; further ``submit`` calls raise ``RuntimeError``."""
        self._closed = True
        current = asyncio.current_task()
        # A job may close its own dispatcher (e.g. a handler stopping the stream); it must not cancel or
        # await itself. Its lane stops after that job because the loop checks ``_closed``.
        workers = [task for task in self._workers.values() if task is not current]
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    async def _run_lane(self, key: str | None, queue: deque[Job]) -> None:
        try:
            while queue and not self._closed:
                job = queue.popleft()
                try:
                    await job()
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    # The job's own await was cancelled, not this lane: that is the job failing.
                    logger.warning("ARI job in lane %s was cancelled", key)
                except Exception:
                    logger.exception("ARI job failed in lane %s", key)
        finally:
            # No await between the emptiness check above and this removal, so submit() cannot slip a job
            # into a queue whose worker is already gone.
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                del self._queues[key]
