"""Who leads, decided from the lease's answers and the passing of time alone (no Redis, no clock of its own).

A controller is a *standby* until it holds the lease, then the *leader* while the lease is surely still its own:
the lease is taken or renewed for ``ttl`` seconds counted by Redis from when Redis ran the command, which is after
we sent it, so the leader counts its lease from when it *sent* the command, and gives it up ``margin`` earlier
still (clocks run at slightly different rates). Past that point it stands down even if Redis never answered: a
renewal stuck on the network must not keep a leader that Redis has already let go. Each lease comes with a
fencing token, larger than every one before it, which its writes carry (see ``docs/scaling.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Leadership", "LeaseTerms", "Role"]


class Role(StrEnum):
    STANDBY = "standby"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How long a lease lasts and how often it is renewed or sought, in seconds.

    ``renew_every`` at most a third of ``ttl``: two renewals may fail (a Redis failover, a lost packet) before
    the leader stands down. ``margin`` is what the leader gives up of its lease for the clocks' drift and
    Redis's own expiry precision."""

    ttl: float = 10.0
    renew_every: float = 2.0
    retry_every: float = 1.0
    margin: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.margin < self.ttl / 2:
            raise ValueError(f"the margin ({self.margin} s) must be under half the lease ({self.ttl} s)")
        if not 0 < self.renew_every <= self.ttl / 3:
            raise ValueError(f"renewing every {self.renew_every} s leaves no room for a failed renewal within a "
                             f"{self.ttl} s lease: at most a third of it")
        if self.retry_every <= 0:
            raise ValueError("a standby must seek the lease every so many seconds, more than none")

    @property
    def ttl_ms(self) -> int:
        return round(self.ttl * 1000)


class Leadership:
    """One controller's view of its lease, moved on by what the lease answered and when (monotonic seconds)."""

    def __init__(self, terms: LeaseTerms) -> None:
        self.terms = terms
        self.token: int | None = None
        self._valid_until = 0.0
        self._next = 0.0

    @property
    def role(self) -> Role:
        return Role.LEADER if self.token is not None else Role.STANDBY

    def leading(self, now: float) -> bool:
        """Whether this controller may act now: it holds a lease that cannot have lapsed in Redis yet."""
        return self.token is not None and now < self._valid_until

    def due(self, now: float) -> float:
        """How long until the next renewal (leader) or attempt (standby), never past the lease's own end."""
        until = self._next
        if self.token is not None:
            until = min(until, self._valid_until)
        return max(0.0, until - now)

    def expired(self, now: float) -> bool:
        """A leader whose lease has run out here without a renewal: it stands down (:meth:`stand_down`)."""
        return self.token is not None and now >= self._valid_until

    def remaining(self, now: float) -> float:
        """How long a renewal sent now may take before the lease it renews has lapsed here."""
        return max(0.0, self._valid_until - now)

    def acquired(self, token: int | None, sent_at: float) -> Role:
        """The answer to an attempt to take the lease sent at ``sent_at``: its token, or None (someone holds it)."""
        if token is None:
            self.token = None
            self._next = sent_at + self.terms.retry_every
            return Role.STANDBY
        self.token = token
        self._hold(sent_at)
        return Role.LEADER

    def renewed(self, held: bool, sent_at: float) -> Role:
        """The answer to a renewal sent at ``sent_at``: still ours, or taken (by a new leader after a lapse)."""
        if not held:
            return self.stand_down(sent_at)
        if self.token is not None:
            self._hold(sent_at)
        return self.role

    def unanswered(self, now: float) -> Role:
        """Redis did not answer: a leader tries again soon while its lease lasts, then stands down."""
        if self.token is not None and now >= self._valid_until:
            return self.stand_down(now)
        self._next = now + (self.terms.retry_every if self.token is None
                            else min(self.terms.retry_every, self.terms.renew_every))
        return self.role

    def stand_down(self, now: float) -> Role:
        self.token = None
        self._valid_until = 0.0
        self._next = now + self.terms.retry_every
        return Role.STANDBY

    def _hold(self, sent_at: float) -> None:
        self._valid_until = sent_at + self.terms.ttl - self.terms.margin
        self._next = sent_at + self.terms.renew_every
