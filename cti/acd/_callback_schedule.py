"""Scheduled callbacks: "call the customer back tomorrow at 10:00", kept until done, retried when missed.

A callback comes due at its time; it is then shown (previewed) to an agent: to the agent who asked, alone, for
the first ``agent_first`` window if they asked to be first ("me first"), then to them or any ready agent of its
queue, the longest idle first. The agent dials it (the contact policy decides again at that moment) or skips it.
Each dial is an attempt: answered completes the callback; no answer, busy or a failure retries it after
``interval`` until ``max_attempts`` were made, then it has failed. A refusal for the hours moves it to the next
allowed time; a refusal for the number, the do-not-call list or the consent ends it (refused).

Pure: every function takes the time and returns the new callback; the caller stores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from cti.acd._agents import Agent
from cti.acd._contact_policy import ContactDecision, ContactRefusal
from cti.acd._eligibility import qualified
from cti.acd._rules import QueueRule
from cti.acd._work import Channel, EndReason, Outcome, WorkItem

__all__ = ["OPEN_STATUSES", "Attempt", "CallbackStatus", "RetryPolicy", "ScheduledCallback", "after_call",
           "after_refusal", "pick_agent", "rescheduled"]


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its time (or for an agent)
    PREVIEWING = "previewing"  # shown to an agent, who dials or skips it
    DIALING = "dialing"  # an attempt is under way
    COMPLETED = "completed"  # the customer answered
    FAILED = "failed"  # every attempt missed
    REFUSED = "refused"  # the contact policy will not call the customer (number, do-not-call list, consent)
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({CallbackStatus.SCHEDULED, CallbackStatus.PREVIEWING, CallbackStatus.DIALING})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    """Dials of the customer, at most (each no answer, busy or failure counts)."""
    interval: timedelta
    """From a missed attempt to the next."""
    agent_first: timedelta
    """How long a "me first" callback waits for its agent alone."""
    preview: timedelta
    """How long an agent has to dial or skip a preview."""


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    outcome: str
    """``answered``, ``no_answer``, ``busy``, ``failed``, ``agent_no_answer`` (not counted), ``skipped``,
    ``out_of_hours`` or a refusal's code."""
    call_id: str | None = None
    agent_id: str | None = None

    @property
    def counts(self) -> bool:
        """Whether it dialed the customer (and so counts toward ``max_attempts``)."""
        return self.outcome in ("answered", "no_answer", "busy", "failed")

    def as_json(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "outcome": self.outcome, "call_id": self.call_id,
                "agent_id": self.agent_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledCallback:
    callback_id: str
    customer_id: str
    queue: str
    due_at: datetime
    reason: str
    agent_id: str | None
    """The agent who asked for it (the one it goes to first)."""
    agent_first: bool = False
    phone_index: int = 0
    status: CallbackStatus = CallbackStatus.SCHEDULED
    attempts: tuple[Attempt, ...] = ()
    call_id: str | None = None
    """The outbound call previewing or dialing it now."""
    created_by: str = ""
    created_at: datetime | None = None

    @property
    def dialed(self) -> int:
        return sum(a.counts for a in self.attempts)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def pick_agent(callback: ScheduledCallback, agents: Iterable[Agent], queue: QueueRule, now: datetime,
               policy: RetryPolicy) -> Agent | None:
    """Whom to preview a due callback to now: its agent alone within the "me first" window, then its agent or
    anyone of its queue who is ready, those at their desktop first, then the longest idle; None when nobody may
    take it now."""
    ready = [a for a in agents if a.extension is not None and a.available_for(Channel.VOICE) and not a.work]
    own = next((a for a in ready if a.agent_id == callback.agent_id), None)
    if own is not None:
        return own
    if callback.agent_first and callback.agent_id is not None and now < callback.due_at + policy.agent_first:
        return None
    team = [a for a in ready if qualified(a, queue)]
    # A preview is shown on a desktop: agents with one open first.
    return min(team, key=lambda a: (not a.at_desk, a.idle_since or now, a.agent_id), default=None)


_MISSED = {EndReason.CUSTOMER_NO_ANSWER: "no_answer", EndReason.CUSTOMER_BUSY: "busy",
           EndReason.AGENT_NO_ANSWER: "agent_no_answer", EndReason.PREVIEW_SKIPPED: "skipped"}


def after_call(callback: ScheduledCallback, call: WorkItem, now: datetime, policy: RetryPolicy) -> ScheduledCallback:
    """The callback once its call (ended) is over: completed, failed after its last attempt, else due again after
    the interval (a preview skipped or let pass, the agent's own phone not answering: not attempts)."""
    if call.outcome is Outcome.ANSWERED and call.answered_at is not None:
        outcome = "answered"
    else:
        outcome = _MISSED.get(call.end_reason, "failed") if call.end_reason is not None else "failed"
    attempt = Attempt(now, outcome, call.call_id, call.agent_id)
    done = replace(callback, attempts=(*callback.attempts, attempt), call_id=None)
    if outcome == "answered":
        return replace(done, status=CallbackStatus.COMPLETED)
    if attempt.counts and done.dialed >= policy.max_attempts:
        return replace(done, status=CallbackStatus.FAILED)
    return replace(done, status=CallbackStatus.SCHEDULED, due_at=now + policy.interval)


def after_refusal(callback: ScheduledCallback, decision: ContactDecision, now: datetime,
                  agent_id: str | None = None) -> ScheduledCallback:
    """The contact policy refused the dial: out of hours moves it to the next allowed time; anything else ends it."""
    refusal = decision.refusal
    assert refusal is not None
    if refusal is ContactRefusal.OUTSIDE_HOURS and decision.next_allowed is not None:
        return replace(callback, status=CallbackStatus.SCHEDULED, due_at=decision.next_allowed, call_id=None,
                       attempts=(*callback.attempts, Attempt(now, "out_of_hours", callback.call_id, agent_id)))
    return replace(callback, status=CallbackStatus.REFUSED, call_id=None,
                   attempts=(*callback.attempts, Attempt(now, refusal.value, callback.call_id, agent_id)))


def rescheduled(callback: ScheduledCallback, due_at: datetime, now: datetime,
                agent_id: str | None = None) -> ScheduledCallback:
    """The agent moved it (skip with a new time); not an attempt."""
    return replace(callback, status=CallbackStatus.SCHEDULED, due_at=due_at, call_id=None,
                   attempts=(*callback.attempts, Attempt(now, "rescheduled", callback.call_id, agent_id)))
