"""Who is signed in, and for how long: the token cache, websocket tickets, the throttle of failed attempts, and
the watch that closes the sockets of users whose token stopped working.

- **Tokens** are looked up by their hash and remembered for a few seconds (``CACHE_TTL``), so each API call does
  not cost a query. A change made through this process (rotation, disabling, deletion) drops the user's entries
  at once; one made by another process (``cti users ...``) is seen when the entry runs out.
- **Tickets** let browsers open websockets without a token in the URL (URLs end up in logs and histories): a
  page trades its token for a ticket (``POST /api/ws-tickets``) and opens the socket with ``?ticket=``. A ticket
  is random, bound to the user, valid ``TICKET_TTL`` and redeemable once. Only their hashes are kept.
- **Failed attempts** (an unknown or disabled token, a bad ticket) are counted per client address; past
  ``FailureThrottle.limit`` in a window the address gets 429 with ``Retry-After`` for the lockout, whatever it
  sends. Memory is bounded: the least recently failing addresses are forgotten first.
- **Open websockets** belong to the user who opened them. A rotation, disabling or deletion through the API
  closes that user's sockets at once (1008, policy violation, with the reason); every ``RECHECK_EVERY`` seconds
  the owners of open sockets are checked against the database, which catches changes made elsewhere and tokens
  that expired while their socket was open.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from cti.records import UserRecord
from cti.services import Accounts
from cti.tasks import stop_task
from cti.types import Clock, utc_now
from cti.web._sockets import Hub

__all__ = ["FailureThrottle", "Refused", "Sessions"]

log = logging.getLogger("cti.web.sessions")

CACHE_TTL: Final = 5.0
"""Seconds a token lookup is remembered: how long a change made by another process may take to be seen."""
TICKET_TTL: Final = timedelta(seconds=30)
RECHECK_EVERY: Final = 5.0
"""Seconds between checks of the users who hold open websockets."""
MAX_CACHED: Final = 10_000
MAX_TICKETS: Final = 10_000
TICKETS_PER_USER: Final = 16


class Refused(Exception):
    """The credentials were refused; the message is what the client is told. ``counted`` when the attempt looks
    like guessing (an unknown token or ticket) and so counts towards the address's throttle."""

    def __init__(self, message: str, *, counted: bool) -> None:
        super().__init__(message)
        self.counted = counted


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True)
class _Failures:
    times: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class FailureThrottle:
    """Failed authentications per client address: ``limit`` in ``window`` locks the address out for ``lockout``."""

    def __init__(self, clock: Clock = utc_now, *, limit: int = 10, window: timedelta = timedelta(minutes=1),
                 lockout: timedelta = timedelta(minutes=1), max_clients: int = 10_000) -> None:
        self.limit = limit
        self._clock = clock
        self._window = window
        self._lockout = lockout
        self._max_clients = max_clients
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again, or None if it may now."""
        entry = self._clients.get(client)
        if entry is None or entry.locked_until is None:
            return None
        left = (entry.locked_until - self._clock()).total_seconds()
        if left <= 0:
            entry.locked_until = None
            entry.times.clear()
            return None
        return max(1, math.ceil(left))

    def failed(self, client: str) -> None:
        now = self._clock()
        entry = self._clients.pop(client, None) or _Failures()
        self._clients[client] = entry  # the most recently failing last: the first forgotten is the quietest
        while entry.times and entry.times[0] <= now - self._window:
            entry.times.popleft()
        entry.times.append(now)
        if len(entry.times) >= self.limit:
            entry.locked_until = now + self._lockout
            log.warning("%d failed authentications from %s within %s; refusing it for %s",
                        len(entry.times), client, self._window, self._lockout)
            entry.times.clear()
        while len(self._clients) > self._max_clients:
            self._clients.popitem(last=False)

    def forget_idle(self) -> None:
        """Drop addresses neither locked out nor failing within the window (housekeeping)."""
        now = self._clock()
        for client, entry in list(self._clients.items()):
            locked = entry.locked_until is not None and entry.locked_until > now
            if not locked and (not entry.times or entry.times[-1] <= now - self._window):
                del self._clients[client]

    def __len__(self) -> int:
        return len(self._clients)


@dataclass(frozen=True, slots=True)
class _Ticket:
    user: UserRecord
    expires_at: datetime


class Sessions:
    def __init__(self, accounts: Accounts, hub: Hub, *, clock: Clock = utc_now, ticket_ttl: timedelta = TICKET_TTL,
                 throttle: FailureThrottle | None = None, recheck_every: float = RECHECK_EVERY) -> None:
        self.accounts = accounts
        self.throttle = throttle or FailureThrottle(clock)
        self.ticket_ttl = ticket_ttl
        self._hub = hub
        self._clock = clock
        self._recheck_every = recheck_every
        self._cache: dict[str, tuple[float, UserRecord]] = {}
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._by_user: dict[str, list[str]] = {}
        self._watch: asyncio.Task[None] | None = None

    # -- tokens ------------------------------------------------------------------------------------------------
    async def authenticate(self, token: str) -> UserRecord:
        """The user ``token`` belongs to; :class:`Refused` if it is unknown, disabled or expired."""
        key = _digest(token)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            user = hit[1]
        else:
            found = await self.accounts.user_for_token(token)
            if found is None:
                self._cache.pop(key, None)
                raise Refused("invalid or disabled token", counted=True)
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            user = found
            self._cache[key] = (time.monotonic() + CACHE_TTL, user)
        if self.accounts.expired(user):
            # A real token, only old: not a guess, so not counted.
            raise Refused("token expired", counted=False)
        return user

    # -- tickets -----------------------------------------------------------------------------------------------
    def issue_ticket(self, user: UserRecord) -> str:
        """A single-use ticket that opens one websocket as ``user`` within ``ticket_ttl``."""
        now = self._clock()
        self._drop_expired_tickets(now)
        mine = [key for key in self._by_user.get(user.name, ()) if key in self._tickets]
        while len(mine) >= TICKETS_PER_USER:
            del self._tickets[mine.pop(0)]
        while len(self._tickets) >= MAX_TICKETS:
            self._tickets.popitem(last=False)
        ticket = secrets.token_urlsafe(32)
        key = _digest(ticket)
        self._tickets[key] = _Ticket(user, now + self.ticket_ttl)
        mine.append(key)
        self._by_user[user.name] = mine
        if len(self._by_user) > MAX_TICKETS:  # users whose tickets all went: rebuilt from what is left
            self._by_user = {}
            for kept, held in self._tickets.items():
                self._by_user.setdefault(held.user.name, []).append(kept)
        return ticket

    def redeem_ticket(self, ticket: str) -> UserRecord:
        """The user a ticket was issued to; the ticket is spent. :class:`Refused` if unknown, spent or expired."""
        held = self._tickets.pop(_digest(ticket), None)
        if held is None or held.expires_at <= self._clock():
            raise Refused("invalid or expired ticket", counted=held is None)
        if self.accounts.expired(held.user):
            raise Refused("token expired", counted=False)
        return held.user

    def outstanding_tickets(self) -> int:
        return len(self._tickets)

    def _drop_expired_tickets(self, now: datetime) -> None:
        # Tickets are kept in the order they were issued, which (with one lifetime) is the order they expire in.
        while self._tickets:
            key, oldest = next(iter(self._tickets.items()))
            if oldest.expires_at > now:
                return
            del self._tickets[key]

    # -- revocation --------------------------------------------------------------------------------------------
    async def revoke(self, name: str, reason: str) -> int:
        """User ``name``'s token stopped working here (rotated, disabled, deleted): forget what is cached for it,
        void its tickets, close its sockets with ``reason``; how many sockets were closed."""
        self.forget(name)
        closed = await self._hub.disconnect(lambda owner: reason if owner.name == name else None)
        if closed:
            log.info("closed %d websocket(s) of user %r: %s", closed, name, reason)
        return closed

    def forget(self, name: str) -> None:
        for key in [key for key, (_, user) in self._cache.items() if user.name == name]:
            del self._cache[key]
        for key in self._by_user.pop(name, ()):
            self._tickets.pop(key, None)

    async def recheck(self) -> int:
        """Close the sockets of users whose token no longer works, whoever changed it; how many were closed."""
        self._drop_expired_tickets(self._clock())
        self.throttle.forget_idle()
        if not self._hub.owners():
            return 0
        current = {user.name: user for user in await self.accounts.list_users()}
        refusals: dict[tuple[str, datetime | None], str | None] = {}

        def refuse(owner: UserRecord) -> str | None:
            key = (owner.name, owner.token_issued_at)
            if key not in refusals:
                refusals[key] = self.accounts.refusal(owner, current.get(owner.name))
            return refusals[key]

        closed = await self._hub.disconnect(refuse)
        for (name, _), reason in refusals.items():
            if reason is not None:
                self.forget(name)
                log.info("closing the websockets of user %r: %s", name, reason)
        return closed

    def start(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(self._run(), name="cti-sessions-watch")

    async def close(self) -> None:
        await stop_task(self._watch)
        self._watch = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._recheck_every)
            try:
                await self.recheck()
            except Exception as exc:  # the database away: the next round tries again
                log.warning("could not check the users of open websockets: %s", exc)
