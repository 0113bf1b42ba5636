"""Stopping background tasks so that shutdown always ends.

A task is stopped by cancelling it and waiting for it. That wait is only as good as every library under the
task: redis-py's asyncio reads swallow a cancellation that lands at the wrong moment (measured: about one in
three cancels of a pub/sub subscription made just after it starts), after which the task goes back to waiting
for its next message and shutdown waits forever. So a task is cancelled again while it keeps running, and the
wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["stop_task"]

log = logging.getLogger("cti.tasks")


async def stop_task(task: asyncio.Task[Any] | None, *, within: float = 10.0, every: float = 0.5) -> bool:
    """Cancel ``task`` (again every ``every`` seconds while it runs) and wait up to ``within`` seconds for it
    to end. True once it has ended; False, logged, if it is still running then. What it raised is dropped:
    a task being stopped has nothing left to report but its own failure, which it logs itself."""
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.error("task %s did not stop within %.0f s of being cancelled; leaving it", task.get_name(), within)
            return False
        task.cancel()
        await asyncio.wait([task], timeout=min(every, left))
    if not task.cancelled() and task.exception() is not None:
        log.debug("task %s ended with %r while being stopped", task.get_name(), task.exception())
    return True
