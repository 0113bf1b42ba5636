"""The election loop: a standby seeks the lease, a leader renews it, and each says when its role changed.

The decisions are :class:`~cti.cluster._leadership.Leadership`'s; this only asks the lease and waits. A renewal
is given no longer than the lease has left here: when it cannot be renewed in time the leader stands down at
once, whatever Redis answers later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from cti.cluster._leadership import Leadership, LeaseTerms, Role
from cti.errors import Unavailable
from cti.tasks import stop_task

__all__ = ["Elector", "Lease"]

log = logging.getLogger("cti.cluster")


class Lease(Protocol):
    """Where the lease is kept (:class:`cti.cluster.RedisLease`)."""

    holder: str
    token_key: str

    async def acquire(self, ttl_ms: int) -> int | None: ...

    async def renew(self, token: int, ttl_ms: int) -> bool: ...

    async def release(self, token: int) -> bool: ...


class Elector:
    """One controller's part in the election. ``token`` is its fencing token while it may act, else None: the
    live store's writes carry it (``key`` names the token Redis holds now), so it is the fence itself."""

    def __init__(self, lease: Lease, terms: LeaseTerms | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lease = lease
        self.leadership = Leadership(terms or LeaseTerms())
        self.key = lease.token_key
        self._clock = clock
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._unanswered = False
        self.terms_led = 0

    @property
    def token(self) -> int | None:
        return self.leadership.token if self.leadership.leading(self._clock()) else None

    @property
    def role(self) -> Role:
        return Role.LEADER if self.token is not None else Role.STANDBY

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="cti-election")

    async def close(self) -> None:
        """Stop taking part; a leader lets the lease go so a standby takes over without waiting for it to lapse."""
        if self._task is not None:
            await stop_task(self._task)
        token = self.token
        self.leadership.stand_down(self._clock())
        if token is not None:
            with contextlib.suppress(Unavailable):
                await self.lease.release(token)
            log.info("lease released (term %d)", token)

    async def wait_role(self, role: Role) -> int | None:
        """Until this controller has ``role``: its token once it leads, None once it stands by."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.role is role)
        return self.token

    async def run(self) -> None:
        while True:
            await self.step()
            wait = self.leadership.due(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)

    async def step(self) -> Role:
        """One attempt or renewal, as due now; the role after it."""
        before = self.leadership.token
        sent = self._clock()
        ttl_ms = self.leadership.terms.ttl_ms
        if before is None:
            try:
                token = await self.lease.acquire(ttl_ms)
            except Unavailable as exc:
                self._away(exc)
                self.leadership.unanswered(self._clock())
            else:
                self._back()
                self.leadership.acquired(token, sent)
        elif self.leadership.expired(sent):
            self.leadership.stand_down(sent)
        else:
            try:
                held = await asyncio.wait_for(self.lease.renew(before, ttl_ms), self.leadership.remaining(sent))
            except (Unavailable, TimeoutError) as exc:
                self._away(exc)
                self.leadership.unanswered(self._clock())
            else:
                self._back()
                self.leadership.renewed(held, sent)
        after = self.leadership.token
        if after != before:
            await self._tell(before, after)
        return self.leadership.role

    async def _tell(self, before: int | None, after: int | None) -> None:
        if before is not None:
            log.error("no longer the leader (term %d): the lease was not renewed in time or was taken", before)
        if after is not None:
            self.terms_led += 1
            log.warning("leading now (term %d, %s)", after, self.lease.holder)
        async with self._changed:
            self._changed.notify_all()

    def _away(self, exc: BaseException) -> None:
        if not self._unanswered:  # one line per outage, not one per attempt
            log.warning("the lease could not be asked (%s): %s", type(exc).__name__, exc)
        self._unanswered = True

    def _back(self) -> None:
        if self._unanswered:
            log.info("the lease answers again")
        self._unanswered = False
