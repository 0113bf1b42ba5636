"""Admission control: under overload, turn new callers away at once instead of failing everyone.

Past its capacity a contact-center server that accepts every call answers them all late: ARI requests
queue up, offers time out, callers already waiting lose their agents. Shedding the *new* arrivals keeps
the admitted calls healthy; the shed caller hears congestion (SIP 503) at once and can retry, instead of
ringing into a server that cannot serve them. Two bounds, both from settings:

- ``max_setups``: calls being set up at once (answer + put on hold, ARI round trips in flight). This is the
  bound that tracks real capacity whatever the machine: when Asterisk or cti slows down, setups last
  longer, more overlap, and the bound is reached.
- ``max_rate``: arrivals per second over a one-second token bucket (0 = no rate bound), for operators
  who know their capacity and prefer a fixed ceiling.
- ``max_sessions``: callers in the IVR at once. An IVR caller holds a recognizer and prompts for a minute or
  more, so the IVR is bounded by how many it holds, not only by how fast they come.

A caller is admitted once, on arrival, before anything is spent on them (the CRM lookup, the answer, the
IVR); one the IVR hands on to routing was admitted already and is never turned away after waiting in it.

Pure: time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Admission", "AdmissionControl"]


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    reason: str = ""  # why not: "setups" or "rate"


@dataclass(slots=True)
class AdmissionControl:
    max_setups: int = 64
    max_rate: float = 0.0
    max_sessions: int = 500
    setups: int = 0
    shed: dict[str, int] = field(default_factory=lambda: {"setups": 0, "rate": 0, "sessions": 0})
    _tokens: float = 0.0
    _last: float | None = None

    def admit(self, now: float, *, sessions: int | None = None) -> Admission:
        """Ask to start a setup at monotonic time ``now``; an admitted setup must be ``done()`` later. With
        ``sessions`` (the callers in the IVR now), the caller is bound for the IVR and must find room there."""
        if sessions is not None and sessions >= self.max_sessions:
            self.shed["sessions"] += 1
            return Admission(False, "sessions")
        if self.setups >= self.max_setups:
            self.shed["setups"] += 1
            return Admission(False, "setups")
        if self.max_rate > 0:
            # A bucket of at least one arrival: below one a second it would never hold a whole one.
            burst = max(1.0, self.max_rate)
            if self._last is None:
                self._tokens = burst
            else:
                self._tokens = min(burst, self._tokens + (now - self._last) * self.max_rate)
            self._last = now
            if self._tokens < 1.0:
                self.shed["rate"] += 1
                return Admission(False, "rate")
            self._tokens -= 1.0
        self.setups += 1
        return Admission(True)

    def enter(self) -> None:
        """Start the setup of a caller admitted before (one the IVR hands on): counted, never refused."""
        self.setups += 1

    def done(self) -> None:
        self.setups = max(0, self.setups - 1)
