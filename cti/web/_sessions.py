"""Who is signed in, and for how long: the token cache, web sessions (people signed in with a password), websocket
tickets, the throttles of failed attempts, and the watch that closes the sockets of users whose token stopped
working.

- **Tokens** are looked up by their hash and remembered for a few seconds (``CACHE_TTL``), so each API call does
  not cost a query. A change made through this process (rotation, disabling, deletion) drops the user's entries
  at once; one made by another process (``cti users ...``) is seen when the entry runs out.
- **Web sessions** (the ``cti_session`` cookie, see :class:`cti.services.SignIn`) are looked up by their hash
  and remembered for ``CACHE_TTL`` like tokens; signing out, a new password, disabling or deleting the user drop
  them at once here. Failed sign-ins count towards the address's throttle and towards a throttle of their own per
  user name (``names``), so guessing one person's password from many addresses is slowed down too.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from cti.records import UserRecord, WebSessionRecord
from cti.services import Accounts, NewSession, SignIn, session_key
from cti.tasks import stop_task
from cti.types import Clock, utc_now
from cti.web._sockets import CLOSE_RECONNECT, Hub

__all__ = ["SESSION_ENDED", "SESSION_EXPIRED", "FailureThrottle", "PortalThrottles", "Refused", "Sessions", "Throttled"]

T = TypeVar("T")

log = logging.getLogger("cti.web.sessions")

CACHE_TTL: Final = 5.0
"""Seconds a token lookup is remembered: how long a change made by another process may take to be seen."""
TICKET_TTL: Final = timedelta(seconds=30)
RECHECK_EVERY: Final = 5.0
"""Seconds between checks of the users who hold open websockets."""
MAX_CACHED: Final = 10_000
MAX_TICKETS: Final = 10_000
TICKETS_PER_USER: Final = 16
PURGE_EVERY: Final = timedelta(hours=1)
"""How often web sessions that ended by time are deleted from the database."""
SESSION_EXPIRED: Final = "session expired; sign in again"
SESSION_ENDED: Final = "session ended; sign in again"
WRONG_CREDENTIALS: Final = "wrong user name or password"


class Refused(Exception):
    """The credentials were refused; the message is what the client is told. ``counted`` when the attempt looks
    like guessing (an unknown token or ticket) and so counts towards the address's throttle."""

    def __init__(self, message: str, *, counted: bool) -> None:
        super().__init__(message)
        self.counted = counted


class Throttled(Exception):
    """Too many failed attempts from this address or for this name: try again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True)
class _Failures:
    times: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class FailureThrottle:
    """Failed authentications per key (a client address, or a user name): ``limit`` in ``window`` lock the key out
    for ``lockout``. ``what`` is how the log names a key: ``from %s`` shows an address; the per-name throttle
    says ``for a user name`` and never logs the name (it may be a password typed into the wrong field)."""

    def __init__(self, clock: Clock = utc_now, *, limit: int = 10, window: timedelta = timedelta(minutes=1),
                 lockout: timedelta = timedelta(minutes=1), max_clients: int = 10_000, what: str = "from %s") -> None:
        self.limit = limit
        self._what = what
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
            log.warning("%d failed authentications %s within %s; refusing it for %s",
                        len(entry.times), self._what.replace("%s", client), self._window, self._lockout)
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
class PortalThrottles:
    """The customer portal's limits, per address (the hash of an e-mail or phone, never the address: the log
    names no one) and per client address. Every code request counts (a known address or not: the same answer);
    so does every wrong code, towards both: 10 per address and 30 per client in 15 minutes, then 15 minutes
    refused. With the attempts per code, one address's code is guessed with odds of about 1 in 100,000 per
    quarter of an hour."""

    addresses: FailureThrottle
    clients: FailureThrottle

    @classmethod
    def default(cls, clock: Clock = utc_now) -> PortalThrottles:
        quarter = timedelta(minutes=15)
        return cls(FailureThrottle(clock, limit=10, window=quarter, lockout=quarter, what="for a portal address"),
                   FailureThrottle(clock, limit=30, window=quarter, lockout=quarter, what="on the portal from %s"))

    def retry_after(self, client: str, address_key: str | None) -> int | None:
        waits = [w for w in (self.clients.retry_after(client),
                             None if address_key is None else self.addresses.retry_after(address_key))
                 if w is not None]
        return max(waits) if waits else None

    def count(self, client: str, address_key: str | None) -> None:
        self.clients.failed(client)
        if address_key is not None:
            self.addresses.failed(address_key)


@dataclass(frozen=True, slots=True)
class _Ticket:
    user: UserRecord
    expires_at: datetime
    session: str | None = None
    """The key of the web session the ticket was issued to, if any: the socket it opens ends with that session."""


class Sessions:
    def __init__(self, accounts: Accounts, hub: Hub, *, clock: Clock = utc_now, ticket_ttl: timedelta = TICKET_TTL,
                 throttle: FailureThrottle | None = None, recheck_every: float = RECHECK_EVERY,
                 sign_in: SignIn | None = None, names: FailureThrottle | None = None,
                 secure_cookies: bool = False) -> None:
        self.accounts = accounts
        self.sign_in = sign_in
        self.throttle = throttle or FailureThrottle(clock)
        self.names = names or FailureThrottle(clock, limit=10, window=timedelta(minutes=15),
                                              lockout=timedelta(minutes=15), what="for a user name")
        """Failed sign-ins per user name (whatever the address): 10 in 15 minutes lock the name for 15."""
        self.secure_cookies = secure_cookies
        """Mark the cookies Secure even over plain HTTP (cti behind a TLS-terminating proxy)."""
        self._sessions: dict[str, tuple[float, WebSessionRecord, UserRecord]] = {}
        # Sockets opened with a ticket of a web session: their owner (a copy of the user, one object per socket,
        # which the hub holds while the socket is open) by identity, with the session's key.
        # Kept a minute at least (the socket is prepared after its ticket is redeemed), then while it is open.
        self._socket_sessions: dict[int, tuple[UserRecord, str, float]] = {}
        self._purged_at: datetime | None = None
        self.ticket_ttl = ticket_ttl
        self._hub = hub
        self._clock = clock
        self._recheck_every = recheck_every
        self._cache: dict[str, tuple[float, UserRecord]] = {}
        # Look-ups under way, by token digest or session key: the requests that need one meanwhile wait for it
        # (a busy agent's cache entry expires with a dozen requests in flight, which would each read it again).
        self._lookups: dict[str, asyncio.Future[Any]] = {}
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
            found = await self._once(key, lambda: self.accounts.user_for_token(token))
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

    async def _once(self, key: str, lookup: Callable[[], Awaitable[T]]) -> T:
        """``lookup``'s answer, read once for every request that needs it while it runs. A request that gives up
        (its client went) does not cancel it for the others; its error reaches each of them."""
        pending = self._lookups.get(key)
        if pending is None:
            pending = asyncio.ensure_future(lookup())
            self._lookups[key] = pending
            pending.add_done_callback(lambda done: self._looked_up(key, done))
        result: T = await asyncio.shield(pending)
        return result

    def _looked_up(self, key: str, done: asyncio.Future[Any]) -> None:
        if self._lookups.get(key) is done:
            del self._lookups[key]
        if not done.cancelled():
            done.exception()  # retrieved here, so that no error goes unsaid when every waiter gave up

    # -- web sessions ------------------------------------------------------------------------------------------
    def retry_after(self, client: str, name: str | None = None) -> int | None:
        """Seconds until ``client`` (and user ``name``) may try to sign in again, or None if they may now."""
        waits = [w for w in (self.throttle.retry_after(client),
                             None if name is None else self.names.retry_after(name)) if w is not None]
        return max(waits) if waits else None

    async def begin(self, name: str, password: str, client: str) -> NewSession:
        """Sign ``name`` in: :class:`Throttled` after too many failures, :class:`Refused` (the same words for a
        wrong password, an unknown name, no password and a disabled user) when refused."""
        if self.sign_in is None:
            raise Refused(WRONG_CREDENTIALS, counted=False)
        wait = self.retry_after(client, name)
        if wait is not None:
            raise Throttled(f"too many failed sign-in attempts; retry in {wait} s", wait)
        new = await self.sign_in.sign_in(name, password)
        if new is None:
            self.failed_password(client, name)
            raise Refused(WRONG_CREDENTIALS, counted=False)
        return new

    def failed_password(self, client: str, name: str) -> None:
        """A wrong password was given for ``name`` from ``client`` (at sign-in, or to change it)."""
        self.throttle.failed(client)
        self.names.failed(name)

    async def authenticate_session(self, session_id: str) -> tuple[UserRecord, WebSessionRecord]:
        """The user and session a ``cti_session`` cookie names; :class:`Refused` if it names none, or has
        expired. Not counted: the id has 256 random bits, and the ended sessions of a whole office (signed out,
        a new password) would otherwise lock its address out."""
        if self.sign_in is None:
            raise Refused(SESSION_ENDED, counted=False)
        key = session_key(session_id)
        hit = self._sessions.get(key)
        if hit is not None and hit[0] > time.monotonic():
            record, user = hit[1], hit[2]
        else:
            sign_in = self.sign_in
            found = await self._once(f"session:{key}", lambda: sign_in.session(session_id))
            if found is None:
                self._sessions.pop(key, None)
                raise Refused(SESSION_ENDED, counted=False)
            if len(self._sessions) >= MAX_CACHED:
                self._sessions.clear()
            record, user = found
            self._sessions[key] = (time.monotonic() + CACHE_TTL, record, user)
        if self.sign_in.expired(record):
            raise Refused(SESSION_EXPIRED, counted=False)
        return user, record

    @staticmethod
    def csrf_matches(session: WebSessionRecord, token: str | None) -> bool:
        return SignIn.csrf_matches(session, token)

    async def end(self, session_id: str) -> bool:
        """Sign out: the session ends here and in the database, and the sockets opened with its tickets close."""
        key = session_key(session_id)
        self._sessions.pop(key, None)
        ended = self.sign_in is not None and await self.sign_in.sign_out(session_id)
        await self._hub.disconnect(lambda owner: "signed out" if self._session_of(owner) == key else None)
        return ended

    # -- tickets -----------------------------------------------------------------------------------------------
    def issue_ticket(self, user: UserRecord, session: WebSessionRecord | None = None) -> str:
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
        self._tickets[key] = _Ticket(user, now + self.ticket_ttl, None if session is None else session.key)
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
        if self.accounts.expired(held.user) and held.session is None:
            raise Refused("token expired", counted=False)
        if held.session is None:
            return held.user
        owner = replace(held.user)  # an object of its own, so that the socket is known by it
        self._socket_sessions[id(owner)] = (owner, held.session, time.monotonic())
        return owner

    def _session_of(self, owner: UserRecord) -> str | None:
        held = self._socket_sessions.get(id(owner))
        return held[1] if held is not None and held[0] is owner else None

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

    async def rescope(self, name: str) -> int:
        """User ``name``'s scope changed: their sockets close with :data:`CLOSE_RECONNECT` (the page reconnects and
        gets a snapshot of the new scope at once), and what is cached for them is read again; how many closed."""
        self.forget(name)
        closed = await self._hub.disconnect(lambda owner: "scope changed" if owner.name == name else None,
                                            code=CLOSE_RECONNECT)
        if closed:
            log.info("reconnecting %d websocket(s) of user %r: scope changed", closed, name)
        return closed

    def forget(self, name: str) -> None:
        for key in [key for key, (_, user) in self._cache.items() if user.name == name]:
            del self._cache[key]
        for key in [key for key, (_, _, user) in self._sessions.items() if user.name == name]:
            del self._sessions[key]
        for key in self._by_user.pop(name, ()):
            self._tickets.pop(key, None)

    async def recheck(self) -> int:
        """Close the sockets of users whose token no longer works, whoever changed it; how many were closed."""
        self._drop_expired_tickets(self._clock())
        self.throttle.forget_idle()
        self.names.forget_idle()
        self._forget_closed_sockets()
        ended = await self._ended_sessions() if self._socket_sessions else {}  # before the purge deletes them
        await self._purge_sessions()
        if not self._hub.owners():
            return 0
        current = {user.name: user for user in await self.accounts.list_users()}
        refusals: dict[tuple[str, datetime | None], str | None] = {}

        def refuse(owner: UserRecord) -> str | None:
            session = self._session_of(owner)
            if session is not None:  # opened by a person signed in: it lasts as long as their session
                user = current.get(owner.name)
                return "user deleted" if user is None else "user disabled" if user.disabled else ended.get(session)
            key = (owner.name, owner.token_issued_at)
            if key not in refusals:
                refusals[key] = self.accounts.refusal(owner, current.get(owner.name))
            return refusals[key]

        closed = await self._hub.disconnect(refuse)
        for (name, _), reason in refusals.items():
            if reason is not None:
                self.forget(name)
                log.info("closing the websockets of user %r: %s", name, reason)
        # A scope changed elsewhere (the CLI, another cti): those pages reconnect into the new one.
        moved = {owner.name for owner in self._hub.owners()
                 if owner.name in current and current[owner.name].scope != owner.scope}
        for name in moved:
            closed += await self.rescope(name)
        return closed

    def _forget_closed_sockets(self) -> None:
        alive, recent = {id(owner) for owner in self._hub.owners()}, time.monotonic() - 60
        for ident in [ident for ident, (_, _, at) in self._socket_sessions.items() if at < recent]:
            if ident not in alive:
                del self._socket_sessions[ident]

    async def _ended_sessions(self) -> dict[str, str]:
        """Why each web session with open sockets has ended (expired, signed out, a new password), by key."""
        ended: dict[str, str] = {}
        for key in {key for _, key, _ in self._socket_sessions.values()}:
            found = None if self.sign_in is None else await self.sign_in.find(key)
            if found is None:
                ended[key] = "session ended"
            elif self.sign_in is not None and self.sign_in.expired(found[0]):
                ended[key] = "session expired"
        return ended

    async def _purge_sessions(self) -> None:
        now = self._clock()
        if self.sign_in is None or (self._purged_at is not None and now - self._purged_at < PURGE_EVERY):
            return
        self._purged_at = now
        purged = await self.sign_in.purge()
        if purged:
            log.info("deleted %d web session(s) that ended by time", purged)

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
