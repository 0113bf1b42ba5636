"""What an IVR session is told (events) and what it asks the adapter to do (commands). Plain frozen data.

The adapter's side of the contract, in short (the session's docstring has the rules):

- ``Play``: play ``text`` in ``language`` and report ``PromptFinished(prompt_id)`` when it ends by itself.
  Plays of one batch queue one after the other. ``barge_in`` says whether the caller may interrupt it.
- ``StopPlayback``: stop the current prompt and drop the queued ones (no ``PromptFinished`` is expected).
- ``Listen``: accept the caller's input: forward every key as ``Dtmf``, and if ``speech_enabled`` run the
  recognizer on ``grammar`` (in ``languages``) and report ``SpeechStarted`` / ``SpeechResult``. An ``open``
  listen has no grammar: recognize free speech and report what the steering model ``open`` understood of it
  (``SpeechResult``'s intent, decision, alternatives and entities). Start the
  no-input timer (``timeout_s``) once no prompt is playing, restart it on every key, and report ``NoInput``
  when it runs out. A new ``Listen`` replaces the active one; ``StopListening`` ends it.
- ``Lookup``: run the self-service query and report ``LookupResult`` (with ``error`` set if it failed or
  timed out: the session has no clock). A personal query carries the verified customer: answer only about
  them (an order of someone else is not found).
- ``Verify``: check the keys the caller entered against the customer's PIN or date of birth and report
  ``VerifyResult`` (``error`` set if the check could not be made). The keys are a secret: never log them.
- ``Record``: once no prompt is playing, record what the caller says (a beep first if ``beep``) and report
  ``Recorded(record_id)`` when it ends (silence, the longest time, the terminator key); keep the audio under
  ``record_id`` for whoever takes the call next. Keys that end it are not reported as ``Dtmf``. A recording cut
  by the caller's hang-up is kept too (``CallerHangup`` follows, no ``Recorded``).
- ``SetAttributes``: store these call attributes now (the screen pop may show them); ``customer_id`` among
  them makes the caller that customer (only ever sent for a verified one).
- ``Transfer`` / ``Hangup``: play the prompt if any, then hand the call to routing / hang up. Always followed
  by ``Finished``, the last command of a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CallerHangup",
    "Dtmf",
    "Finished",
    "FlowCommand",
    "FlowEvent",
    "FlowOutcome",
    "GrammarChoice",
    "Hangup",
    "Listen",
    "Lookup",
    "LookupResult",
    "NoInput",
    "PathEntry",
    "Play",
    "PromptFinished",
    "Record",
    "Recorded",
    "SetAttributes",
    "SpeechResult",
    "SpeechStarted",
    "Started",
    "StopListening",
    "StopPlayback",
    "Transfer",
    "Verification",
    "VerificationMethod",
    "Verify",
    "VerifyResult",
]


# --- events ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Started:
    """The call is answered and the session may speak."""


@dataclass(frozen=True, slots=True)
class PromptFinished:
    prompt_id: str


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str  # one of 0-9 * # A-D; anything else is ignored


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The caller started speaking (voice activity or a first partial result): barge-in."""


@dataclass(frozen=True, slots=True)
class SpeechResult:
    intent: str | None  # the grammar choice recognized (an open question: the likeliest intent), or None
    text: str
    confidence: float  # 0..1
    listen_id: int | None = None  # if given, a result for an older Listen is ignored
    # An open question's answer only (the steering model's understanding of ``text``):
    decision: str | None = None  # route | confirm | reprompt
    alternatives: tuple[str, ...] = ()  # the likeliest intents, best first (for a confirmation of the second)
    entities: Mapping[str, str] = field(default_factory=dict)  # order_number, amount, product


@dataclass(frozen=True, slots=True)
class NoInput:
    """The active Listen's timeout ran out with no input."""

    listen_id: int | None = None  # if given, a timeout of an older Listen is ignored


@dataclass(frozen=True, slots=True)
class LookupResult:
    kind: str
    found: bool
    data: Mapping[str, object] = field(default_factory=dict)
    error: str | None = None  # set when the query failed: the flow takes its error branch


@dataclass(frozen=True, slots=True)
class VerifyResult:
    verified: bool
    method: str | None = None  # pin | dob: what the keys were checked as
    error: str | None = None  # set when the check could not be made: the caller is not verified, nor counted failing


@dataclass(frozen=True, slots=True)
class Recorded:
    """A ``Record`` ended: ``seconds`` of recording, ``spoken`` whether the caller said anything in it (else
    the audio is dropped), ``error`` set if it could not be made."""

    record_id: str
    seconds: float = 0.0
    spoken: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CallerHangup:
    pass


FlowEvent = (Started | PromptFinished | Dtmf | SpeechStarted | SpeechResult | NoInput | LookupResult | VerifyResult
             | Recorded | CallerHangup)


# --- commands -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Play:
    prompt_id: str  # unique within the session: "<node>.<part>#<n>"
    text: str
    language: str
    barge_in: bool
    personal: bool = False
    """Carries the caller's data (a lookup's answer): rendered for them only, never cached."""


@dataclass(frozen=True, slots=True)
class StopPlayback:
    pass


@dataclass(frozen=True, slots=True)
class GrammarChoice:
    intent: str
    dtmf: str | None
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listen:
    listen_id: int
    node: str
    grammar: tuple[GrammarChoice, ...]  # empty for digit collection
    languages: tuple[str, ...]  # the recognizer's languages: both at the language choice
    timeout_s: float
    speech_enabled: bool
    max_digits: int
    terminator: str | None
    open: str | None = None  # an open question: free speech, understood by this steering model (no grammar)


@dataclass(frozen=True, slots=True)
class StopListening:
    pass


@dataclass(frozen=True, slots=True)
class Lookup:
    kind: str  # order_status | balance
    key: str
    customer_id: str | None = None  # a personal query's verified customer: the answer must be about them


@dataclass(frozen=True, slots=True)
class Verify:
    customer_id: str  # who the caller claims to be
    keys: str = field(repr=False)  # a PIN (4 to 6 keys) or a date of birth (DDMMYYYY)


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str  # unique within the session: "<node>#<n>"
    max_s: int
    silence_s: int
    terminator: str | None
    beep: bool


@dataclass(frozen=True, slots=True)
class SetAttributes:
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the call to routing with these attributes (language always among them)."""

    attributes: Mapping[str, str]
    queue: str | None
    priority: int | None
    prompt: Play | None
    reason: str  # requested | no_input | no_match | max_steps | max_duration | not_verified


@dataclass(frozen=True, slots=True)
class Hangup:
    prompt: Play | None


FlowOutcome = Literal["transferred", "escalated", "completed", "abandoned_in_ivr"]


@dataclass(frozen=True, slots=True)
class PathEntry:
    """One step of the caller's way through the IVR, for the screen pop and the interaction history."""

    node: str
    event: str  # enter | dtmf | speech | no_input | no_match | low_confidence | dtmf_only | valid | invalid | ...
    value: str | None = None
    intent: str | None = None
    confidence: float | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"node": self.node, "event": self.event}
        for name in ("value", "intent", "confidence"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


VerificationMethod = Literal["caller_id", "pin", "dob", "none"]


@dataclass(frozen=True, slots=True)
class Verification:
    """Who the caller was shown to be: ``customer_id`` verified by ``method`` (``none``: nobody). ``claimed`` is a
    customer number they keyed and did not prove; ``failures`` their attempts that failed; ``locked`` once those
    reached the limit and self-service ended for the call."""

    customer_id: str | None = None
    method: VerificationMethod = "none"
    claimed: str | None = None
    failures: int = 0
    locked: bool = False

    @property
    def verified(self) -> bool:
        return self.customer_id is not None

    def as_json(self) -> dict[str, object]:
        return {"verified": self.verified, "method": self.method, "customer_id": self.customer_id,
                "claimed": self.claimed, "failures": self.failures, "locked": self.locked}


@dataclass(frozen=True, slots=True)
class Finished:
    """The session is over; nothing follows. ``escalated``: sent to an agent because the caller failed or looped."""

    outcome: FlowOutcome
    reason: str
    flow: str
    language: str
    attributes: Mapping[str, str]
    path: tuple[PathEntry, ...]
    self_served: bool  # a lookup answered the caller
    verification: Verification = Verification()

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(entry.node for entry in self.path if entry.event == "enter")

    def as_json(self) -> dict[str, object]:
        return {"outcome": self.outcome, "reason": self.reason, "flow": self.flow, "language": self.language,
                "attributes": dict(self.attributes), "self_served": self.self_served,
                "verification": self.verification.as_json(), "path": [entry.as_json() for entry in self.path]}


FlowCommand = (Play | StopPlayback | Listen | StopListening | Lookup | Verify | Record | SetAttributes | Transfer
               | Hangup | Finished)
