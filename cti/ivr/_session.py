"""The IVR interpreter: one :class:`IvrSession` per call walks a validated flow, events in, commands out.

Pure and deterministic: no I/O, no clock (the adapter may pass ``elapsed_s``, the seconds since the call
entered the IVR, with any event), no randomness. The commands and events are in :mod:`cti.ivr._events`.

Rules:

- Prompts: the plays of one batch share a barge-in flag. Menus, language choice and digit collection barge
  in by default: their ``Listen`` follows the plays at once, and a key or the start of speech stops them
  (``StopPlayback``). A non-barge-in prompt is heard to its end: the ``Listen`` comes after its last
  ``PromptFinished``.
- DTMF is always accepted: a key pressed while nothing listens (a non-barge-in prompt, a lookup) is kept
  (type-ahead, at most 32 keys) and used by the next menu or collection, which then skips its prompt.
  Keys other than 0-9, *, #, A-D are ignored; in a collection any key but a digit or the terminator makes the
  entry invalid.
- Speech below the confidence threshold, or matching no choice (by intent, else by phrase), is a no-match.
- Menus: a no-input or no-match reprompts (``retries``, default 2), then asks for keys only
  (``dtmf_attempts``, default 1), then goes to the menu's ``failure`` node or the agent (``escalated``).
  Collections reprompt ``retries`` times, then take ``invalid``. The language choice falls back to the
  default language.
- Verification: a caller identified by the calling number (``Caller.customer_id``) is verified from the start;
  another is asked at a ``verify`` node for their customer number (the claim) and then their PIN or date of
  birth, checked by the adapter (``Verify`` -> ``VerifyResult``). Only a verified customer becomes the call's
  customer (``SetAttributes(customer_id)``); a claim never verified stays a claim. Each attempt that does not
  verify the caller (wrong keys, too few, silence) counts; at ``settings.verify_attempts`` the call is locked:
  every verify node then goes to its ``failed`` node (default: the agent). Personal lookups are asked only for the
  verified customer (the checks make every flow verify before them; the session refuses them otherwise too).
- Recording (a ``record`` node): its prompt is heard to its end, then ``Record``; keys meanwhile are the
  recording's (its terminator), never type-ahead. A ``Recorded`` in which the caller spoke sets the node's
  attribute to the record id; silence or an error moves on without it. A hang-up during the recording keeps it
  (the attribute is in ``Finished``): a comment cut short is still the caller's.
- Guard: every node entered and every reprompt is a step; past ``max_steps``, or once ``elapsed_s`` reaches
  ``max_duration_s``, the caller goes to the agent (``Transfer`` with reason ``max_steps`` / ``max_duration``).
- A ``CallerHangup`` at any point ends the session with ``Finished(abandoned_in_ivr)`` alone.

Invariants (tested with hypothesis on random event sequences):

1. ``handle`` never raises (a verbalizer's ValueError included); after ``Finished`` it returns nothing.
   ``Finished`` comes once, last in its batch, right after ``Transfer`` or ``Hangup`` unless the caller hung up.
2. At most ``max_steps`` steps, so at most ``max_steps`` nodes entered and ``Listen`` issued; with an adapter
   that reports prompt ends, timeouts and lookup results, every session ends, whatever the caller does.
3. No ``Listen`` while a non-barge-in ``Play`` is outstanding (played, neither finished nor stopped).
4. ``StopPlayback`` only while a ``Play`` is outstanding; ``StopListening`` only while a ``Listen`` is active;
   leaving an input node stops its prompt and its listen first.
5. Prompt ids are unique in a session; every ``Play`` is in a language of the flows file.
6. No ``Record`` while a ``Play`` is outstanding or a ``Listen`` is active, and at most one at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cti.ivr._events import (
    CallerHangup,
    Dtmf,
    Finished,
    FlowCommand,
    FlowEvent,
    FlowOutcome,
    GrammarChoice,
    Hangup,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    PathEntry,
    Play,
    PromptFinished,
    Record,
    Recorded,
    SetAttributes,
    SpeechResult,
    SpeechStarted,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
    Verification,
    VerificationMethod,
    Verify,
    VerifyResult,
)
from cti.ivr._model import (
    ENTITIES,
    LOOKUPS,
    Answer,
    CollectNode,
    Flows,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Messages,
    OpenNode,
    PlayNode,
    RecordNode,
    SetNode,
    TransferNode,
    VerifyNode,
    normalize_phrase,
)
from cti.ivr._template import TemplateError, Verbalizer, render_template

__all__ = ["Caller", "IvrSession", "luhn_valid"]

KEYS = frozenset("0123456789*#ABCD")
SECRET_KEYS = (4, 8)  # fewest and most keys of a PIN or a date of birth (DDMMYYYY)
MAX_TYPEAHEAD = 32
MAX_TEXT = 200  # of recognized text kept in the path: a monologue must not bloat the interaction record


@dataclass(frozen=True, slots=True)
class Caller:
    """What is known of the caller before the IVR: the stored language, the customer, other attributes.

    ``customer_id`` is the customer one of whose phones the caller is calling from: verified as them by the
    calling number."""

    language: str | None = None
    customer_id: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class _State(Enum):
    IDLE = "idle"  # before Started
    PLAYING = "playing"  # a play node or an answer: move on when the prompts end
    INPUT = "input"  # a menu, the language choice or a collection
    LOOKUP = "lookup"  # waiting for LookupResult
    VERIFYING = "verifying"  # waiting for VerifyResult
    RECORDING = "recording"  # a record node: its prompt, then waiting for Recorded
    DONE = "done"


def luhn_valid(digits: str) -> bool:
    """The last digit is the Luhn check digit of the others (customer and card numbers)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


class IvrSession:
    """One call's way through one flow. Feed events to :meth:`handle`; execute the commands it returns."""

    def __init__(self, flows: Flows, flow: str, *, verbalizer: Verbalizer, caller: Caller | None = None,
                 speech: bool = True) -> None:
        if flow not in flows.flows:
            raise ValueError(f"no flow {flow!r}")
        caller = caller or Caller()
        self._flows = flows
        self._name = flow
        self._flow = flows.flows[flow]
        self._verbalizer = verbalizer
        self._speech = speech and flows.settings.speech
        self._language_known = caller.language in flows.languages
        self._language = caller.language if caller.language in flows.languages else flows.default_language
        self._attributes: dict[str, str] = {k: v for k, v in caller.attributes.items() if k != "customer_id"}
        if caller.customer_id:
            self._attributes["customer_id"] = caller.customer_id
        self._verified: str | None = caller.customer_id or None
        self._method: VerificationMethod = "caller_id" if self._verified else "none"
        self._caller_customer = caller.customer_id or None  # whose phone the caller calls from
        self._claimed: str | None = None
        self._subject: str | None = None  # whose PIN or date of birth the caller is asked for
        self._claiming = False  # at a verify node: the keys are the customer number (else the PIN or birth date)
        self._verify_failures = 0
        self._locked = False
        self._variables: dict[str, str] = {}
        self._state = _State.IDLE
        self._node_id = self._flow.entry
        self._path: list[PathEntry] = []
        self._steps = 0
        self._seq = 0
        self._listen_seq = 0
        self._plays: list[str] = []
        self._barge = False
        self._listen: Listen | None = None  # the current attempt's Listen, once issued
        self._adapter_listening = False
        self._typeahead: list[str] = []
        self._failures = 0
        self._dtmf_phase = False
        self._digits = ""
        self._after: str | None = None
        self._self_served = False
        self._recording: str | None = None  # the record id of the Record issued at this record node
        self._confirming: str | None = None  # at an open question: the intent the caller is asked to confirm
        self._candidates: list[str] = []  # and the next one to ask about if they say no
        self._heard: dict[str, str] = {}  # the entities of the sentence being confirmed
        self._handlers: dict[type[Any], Callable[[Any, float | None, list[FlowCommand]], None]] = {
            CallerHangup: self._on_caller_hangup, Started: self._on_started, PromptFinished: self._on_prompt_finished,
            Dtmf: self._on_key, SpeechStarted: self._on_speech_started, SpeechResult: self._on_speech_result,
            NoInput: self._on_silence, LookupResult: self._on_lookup_result, VerifyResult: self._on_verify_result,
            Recorded: self._on_recorded}

    @property
    def finished(self) -> bool:
        return self._state is _State.DONE

    @property
    def language(self) -> str:
        return self._language

    @property
    def path(self) -> tuple[PathEntry, ...]:
        return tuple(self._path)

    @property
    def verification(self) -> Verification:
        return Verification(self._verified, self._method if self._verified else "none", self._claimed,
                            self._verify_failures, self._locked)

    def handle(self, event: FlowEvent, *, elapsed_s: float | None = None) -> list[FlowCommand]:
        """The commands for one event, in order."""
        out: list[FlowCommand] = []
        if self._state is not _State.DONE:
            self._handlers[type(event)](event, elapsed_s, out)
        return out

    # --- events, one handler each (the table is built in __init__) -----------------------------------

    def _on_caller_hangup(self, event: CallerHangup, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        node = self._node()
        if self._state is _State.RECORDING and self._recording is not None and isinstance(node, RecordNode):
            # What they said before hanging up is kept: a comment cut short is still theirs.
            self._attributes[node.into] = self._recording
        self._record("caller_hangup")
        self._finish("abandoned_in_ivr", "caller_hangup", out)

    def _on_started(self, event: Started, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._state is _State.IDLE:
            self._goto(self._flow.entry, out)
            self._settle(out)

    def _on_prompt_finished(self, event: PromptFinished, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._state is not _State.IDLE and event.prompt_id in self._plays:
            self._plays.remove(event.prompt_id)  # first: the duration guard must not stop a prompt that ended
        self._in_flow(elapsed_s, out)

    def _on_key(self, event: Dtmf, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._on_dtmf(event, out)
            self._settle(out)

    def _on_speech_started(self, event: SpeechStarted, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            if self._plays and self._barge and (self._state is _State.PLAYING or self._hearing_speech()):
                self._stop_playback(out)
            self._settle(out)

    def _on_speech_result(self, event: SpeechResult, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._on_speech(event, out)
            self._settle(out)

    def _on_silence(self, event: NoInput, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._on_no_input(event, out)
            self._settle(out)

    def _on_lookup_result(self, event: LookupResult, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._on_lookup(event, out)
            self._settle(out)

    def _on_verify_result(self, event: VerifyResult, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._on_verify(event, out)
            self._settle(out)

    def _on_recorded(self, event: Recorded, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        node = self._node()
        if (self._state is not _State.RECORDING or self._recording is None or event.record_id != self._recording
                or not isinstance(node, RecordNode)):
            return
        self._recording = None
        if event.error is not None:
            self._record("error", event.error[:MAX_TEXT])
        elif event.spoken:
            self._record("recorded", f"{event.seconds:.0f} s")
            self._attributes[node.into] = event.record_id
            out.append(SetAttributes({node.into: event.record_id}))
        else:
            self._record("no_input")
        self._state = _State.PLAYING
        if self._in_time(elapsed_s, out):
            self._goto(node.next, out)
            self._settle(out)

    def _in_flow(self, elapsed_s: float | None, out: list[FlowCommand]) -> None:
        if self._in_time(elapsed_s, out):
            self._settle(out)

    def _in_time(self, elapsed_s: float | None, out: list[FlowCommand]) -> bool:
        """Is the call past its start and within the flow's maximum duration (else it is escalated now)?"""
        if self._state is _State.IDLE:
            return False
        if elapsed_s is not None and elapsed_s >= self._flows.settings.max_duration_s:
            self._escalate("max_duration", out)
            return False
        return True

    # --- events ---------------------------------------------------------------------------------------

    def _on_dtmf(self, event: Dtmf, out: list[FlowCommand]) -> None:
        if len(event.digit) != 1 or event.digit not in KEYS or self._state is _State.RECORDING:
            return  # at a record node a key is the recording's end (the adapter's), not type-ahead
        if self._plays and self._barge and self._state in (_State.PLAYING, _State.INPUT):
            self._stop_playback(out)
        if len(self._typeahead) < MAX_TYPEAHEAD:
            self._typeahead.append(event.digit)

    def _hearing_speech(self) -> bool:
        return self._state is _State.INPUT and self._listen is not None and self._listen.speech_enabled

    def _on_speech(self, event: SpeechResult, out: list[FlowCommand]) -> None:
        if not self._hearing_speech() or self._listen is None:
            return
        if event.listen_id is not None and event.listen_id != self._listen.listen_id:
            return
        if self._plays:
            self._stop_playback(out)
        node = self._node()
        confidence = event.confidence if math.isfinite(event.confidence) else 0.0
        text = event.text[:MAX_TEXT]
        if isinstance(node, OpenNode) and self._confirming is None:
            self._understood(node, event, text, confidence, out)  # the steering model's decision, not a grammar's
            return
        threshold = self._flows.settings.min_confidence
        if isinstance(node, MenuNode) and node.min_confidence is not None:
            threshold = node.min_confidence
        if confidence < threshold:
            self._record("low_confidence", text, event.intent, confidence)
            self._fail("no_match", out)
            return
        if isinstance(node, MenuNode):
            choice = next((c for c in node.choices if c.intent == event.intent), None)
            if choice is None:
                said = normalize_phrase(event.text)
                choice = next((c for c in node.choices
                               if said in {normalize_phrase(p) for p in c.phrases.get(self._language, ())}), None)
            if choice is not None:
                self._record("speech", text, choice.intent, confidence)
                self._leave(choice.next, out)
                return
        elif isinstance(node, LanguageNode):
            language = self._spoken_language(node, event)
            if language is not None:
                self._record("speech", text, _language_intent(node, language), confidence)
                self._choose_language(node, language, out)
                return
        elif isinstance(node, OpenNode):
            said = normalize_phrase(event.text)
            answer = event.intent if event.intent in ("yes", "no") else next(
                (word for word, phrases in (("yes", node.yes), ("no", node.no))
                 if said in {normalize_phrase(p) for p in phrases.get(self._language, ())}), None)
            if answer is not None:
                self._record("speech", text, answer, confidence)
                self._confirmed(node, answer == "yes", out)
                return
        self._record("no_match", text, event.intent, confidence)
        self._fail("no_match", out)

    def _understood(self, node: OpenNode, event: SpeechResult, text: str, confidence: float,
                    out: list[FlowCommand]) -> None:
        """An answer to the open question: routed, to be confirmed (the likeliest intent, then the second), or
        not understood."""
        intent = event.intent if event.intent in node.intents else None
        entities = {name: value for name, value in event.entities.items() if name in ENTITIES and value}
        if intent is not None and event.decision == "route":
            self._record("speech", text, intent, confidence)
            self._route(node, intent, entities, out)
        elif intent is not None and event.decision == "confirm":
            self._record("unsure", text, intent, confidence)
            self._confirming, self._heard = intent, entities
            self._candidates = [a for a in event.alternatives if a in node.intents and a != intent][:1]
            self._reprompt(None, out)
        else:
            self._record("no_match", text, event.intent, confidence)
            self._fail("no_match", out)

    def _confirmed(self, node: OpenNode, yes: bool, out: list[FlowCommand]) -> None:
        intent = self._confirming
        if yes and intent is not None:
            self._route(node, intent, self._heard, out)
        elif self._candidates:  # not that: perhaps the second likeliest
            self._confirming = self._candidates.pop(0)
            self._reprompt(None, out)
        else:
            self._fail("not_confirmed", out)

    def _route(self, node: OpenNode, intent: str, entities: Mapping[str, str], out: list[FlowCommand]) -> None:
        for name, value in entities.items():
            self._variables[name] = value
            self._record("entity", value, name)
        self._confirming, self._candidates, self._heard = None, [], {}
        target = node.intents[intent]
        if target.switch_language:
            other = next(language for language in self._flows.languages if language != self._language)
            self._language = other
            self._attributes["language"] = other
            self._record("language", other)
            out.append(SetAttributes({"language": other}))
        self._leave(target.next, out)

    def _spoken_language(self, node: LanguageNode, event: SpeechResult) -> str | None:
        for language in node.options:
            if event.intent in (language, _language_intent(node, language)):
                return language
        said = normalize_phrase(event.text)
        for language, option in node.options.items():
            if said in {normalize_phrase(p) for p in option.phrases}:
                return language
        return None

    def _on_no_input(self, event: NoInput, out: list[FlowCommand]) -> None:
        if self._state is not _State.INPUT or self._listen is None or self._plays:
            return  # the timer starts when prompts end: a timeout before is stale
        if event.listen_id is not None and event.listen_id != self._listen.listen_id:
            return
        node = self._node()
        if isinstance(node, CollectNode | VerifyNode) and self._digits:
            self._complete(node, out)
            return
        self._record("no_input")
        self._fail("no_input", out)

    def _on_lookup(self, event: LookupResult, out: list[FlowCommand]) -> None:
        node = self._node()
        if self._state is not _State.LOOKUP or not isinstance(node, LookupNode) or event.kind != node.query:
            return
        branch = "error" if event.error is not None else "found" if event.found else "not_found"
        self._record(branch, event.error[:MAX_TEXT] if event.error else None)
        self._state = _State.PLAYING
        self._after = None
        follow = self._answer(node, branch, event.data, out)
        if follow is not None:
            self._goto(follow, out)

    def _input_key(self, digit: str, out: list[FlowCommand]) -> None:
        node = self._node()
        if isinstance(node, MenuNode):
            choice = next((c for c in node.choices if c.dtmf == digit), None)
            if choice is None:
                self._record("no_match", digit)
                self._fail("no_match", out)
            else:
                self._record("dtmf", digit, choice.intent)
                self._leave(choice.next, out)
        elif isinstance(node, LanguageNode):
            language = next((lang for lang, option in node.options.items() if option.dtmf == digit), None)
            if language is None:
                self._record("no_match", digit)
                self._fail("no_match", out)
            else:
                self._record("dtmf", digit, _language_intent(node, language))
                self._choose_language(node, language, out)
        elif isinstance(node, OpenNode):
            if self._confirming is None:
                # The caller would rather use keys: the keypad menu, with this key.
                self._record("dtmf", digit, "keypad")
                self._typeahead.insert(0, digit)
                self._leave(node.fallback, out)
            elif digit in ("1", "2"):
                self._record("dtmf", digit, "yes" if digit == "1" else "no")
                self._confirmed(node, digit == "1", out)
            else:
                self._record("no_match", digit)
                self._fail("no_match", out)
        elif isinstance(node, CollectNode | VerifyNode):
            if digit.isdigit():
                self._digits += digit
                if len(self._digits) >= self._max_keys(node):
                    self._complete(node, out)
            elif digit == self._terminator(node):
                self._complete(node, out)
            else:
                self._record("invalid", self._shown(node, self._digits + digit))
                self._fail("invalid", out)

    def _complete(self, node: CollectNode | VerifyNode, out: list[FlowCommand]) -> None:
        if isinstance(node, VerifyNode):
            self._keyed(node, out)
            return
        digits = self._digits
        valid = self._valid_entry(node, digits)
        self._record("valid" if valid else "invalid", self._shown(node, digits))
        if valid:
            self._variables[node.into] = digits
            self._leave(node.valid, out)
        else:
            self._fail("invalid", out)

    @staticmethod
    def _valid_entry(node: CollectNode, digits: str) -> bool:
        return (node.min_length <= len(digits) <= node.max_length and digits.isascii() and digits.isdigit()
                and (node.pattern is None or re.fullmatch(node.pattern, digits) is not None)
                and (node.checksum != "luhn" or luhn_valid(digits)))

    def _shown(self, node: CollectNode | VerifyNode, digits: str) -> str:
        secret = node.sensitive if isinstance(node, CollectNode) else not self._claiming
        return f"<{len(digits)} keys>" if secret else digits

    def _max_keys(self, node: CollectNode | VerifyNode) -> int:
        if isinstance(node, CollectNode):
            return node.max_length
        return node.claim_max_length if self._claiming else SECRET_KEYS[1]

    @staticmethod
    def _terminator(node: CollectNode | VerifyNode) -> str | None:
        return node.terminator if isinstance(node, CollectNode) else "#"

    # --- verification -------------------------------------------------------------------------------------

    def _enter_verify(self, node: VerifyNode, out: list[FlowCommand]) -> str | None:
        if self._locked:
            self._record("verify_locked", str(self._verify_failures))
            return self._not_verified(node, out)
        if self._verified is not None and (node.caller_id or self._method != "caller_id"):
            self._record("verified", self._method)
            return node.verified
        self._subject = None if node.caller_id else self._caller_customer
        if self._subject is None and node.claim_prompt is None:
            self._record("unidentified")
            return self._not_verified(node, out)
        # A caller the number identifies, at a node that does not take the number's word: their PIN only.
        self._state = _State.INPUT
        self._claiming = self._subject is None
        self._dtmf_phase = True
        self._ask(None, out)
        return None

    def _keyed(self, node: VerifyNode, out: list[FlowCommand]) -> None:
        """A complete entry at a verify node: the customer number claimed, or the PIN or date of birth."""
        digits = self._digits
        if self._claiming:
            if not node.claim_min_length <= len(digits) <= node.claim_max_length:
                # Not a customer number: perhaps the PIN, keyed before it was asked for. Its length only.
                self._record("invalid", f"<{len(digits)} keys>")
                self._fail("invalid", out)
                return
            self._record("claimed", digits)
            self._claimed = self._subject = digits
            self._claiming = False
            self._failures = 0
            self._reprompt(None, out)
            return
        if not SECRET_KEYS[0] <= len(digits) <= SECRET_KEYS[1] or self._subject is None:
            self._record("invalid", self._shown(node, digits))
            self._fail("invalid", out)
            return
        self._record("keyed", self._shown(node, digits))
        self._stop(out)
        self._listen = None
        self._digits = ""
        self._state = _State.VERIFYING
        out.append(Verify(self._subject, digits))

    def _on_verify(self, event: VerifyResult, out: list[FlowCommand]) -> None:
        node = self._node()
        if self._state is not _State.VERIFYING or not isinstance(node, VerifyNode) or self._subject is None:
            return
        method: VerificationMethod = "dob" if event.method == "dob" else "pin"
        if event.error is not None:
            self._record("error", event.error[:MAX_TEXT])
            self._state = _State.PLAYING
            follow = self._not_verified(node, out)
            if follow is not None:
                self._goto(follow, out)
        elif event.verified:
            self._record("verified", method)
            self._verified, self._method, self._claimed = self._subject, method, None
            self._attributes["customer_id"] = self._verified
            out.append(SetAttributes({"customer_id": self._verified}))
            self._state = _State.PLAYING
            self._goto(node.verified, out)
        else:
            self._record("verify_failed", method)
            self._state = _State.INPUT
            self._attempt_failed(node, ("not_verified", self._flows.messages.not_verified), out)

    def _attempt_failed(self, node: VerifyNode, prefix: tuple[str, Mapping[str, str]],
                        out: list[FlowCommand]) -> None:
        """A PIN or date of birth attempt that did not verify the caller: ask again, or lock the call."""
        self._verify_failures += 1
        if self._verify_failures < self._flows.settings.verify_attempts:
            self._reprompt(prefix, out)
            return
        self._locked = True
        self._record("verify_locked", str(self._verify_failures))
        self._stop(out)
        self._listen = None
        self._state = _State.PLAYING
        follow = self._not_verified(node, out)
        if follow is not None:
            self._goto(follow, out)

    def _not_verified(self, node: VerifyNode, out: list[FlowCommand]) -> str | None:
        """Self-service ends here for this caller: the node's ``failed``, else the agent at once."""
        if node.failed is not None:
            return node.failed
        self._escalate("not_verified", out)
        return None

    # --- moving through the flow ----------------------------------------------------------------------

    def _settle(self, out: list[FlowCommand]) -> None:
        """Act on what became possible: a finished prompt moves on, type-ahead is used, a Listen is issued."""
        while True:
            if self._state is _State.PLAYING and not self._plays and self._after is not None:
                follow, self._after = self._after, None
                self._goto(follow, out)
            elif self._state is _State.INPUT and (self._barge or not self._plays) and self._typeahead:
                self._input_key(self._typeahead.pop(0), out)
            else:
                break
        node = self._node()
        if self._state is _State.RECORDING and not self._plays and self._recording is None and isinstance(
                node, RecordNode):
            self._seq += 1
            self._recording = f"{self._node_id}#{self._seq}"
            out.append(Record(self._recording, node.max_s, node.silence_s, node.terminator, node.beep))
        if self._state is _State.INPUT and (self._barge or not self._plays) and self._listen is None:
            self._listen_seq += 1
            self._listen = self._listen_for(self._node())
            self._adapter_listening = True
            out.append(self._listen)

    def _goto(self, node_id: str, out: list[FlowCommand]) -> None:
        next_id: str | None = node_id
        while next_id is not None and self._state is not _State.DONE:
            if not self._step(out):
                return
            next_id = self._enter(next_id, out)

    def _enter(self, node_id: str, out: list[FlowCommand]) -> str | None:
        """Enter a node; the id of the node to enter at once after it, or None to wait for events."""
        node = self._flow.nodes[node_id]
        self._node_id = node_id
        self._record("enter")
        self._failures = 0
        self._digits = ""
        self._listen = None
        self._claiming = False
        if isinstance(node, PlayNode):
            self._state = _State.PLAYING
            self._play("prompt", node.prompt, node.barge_in, out)
            self._after = node.next
            return None
        if isinstance(node, RecordNode):
            self._state = _State.RECORDING
            self._recording = None
            self._play("prompt", node.prompt, False, out)
            return None
        if isinstance(node, OpenNode):
            if not self._speech:  # nobody would hear the answer: the keypad menu at once
                self._record("no_speech")
                return node.fallback
            self._state = _State.INPUT
            self._dtmf_phase = False
            self._confirming, self._candidates, self._heard = None, [], {}
            self._ask(None, out)
            return None
        if isinstance(node, CollectNode) and self._valid_entry(node, self._variables.get(node.into, "")):
            # Already given (an open question's entity): not asked again.
            self._record("known", self._shown(node, self._variables[node.into]))
            return node.valid
        if isinstance(node, LanguageNode) and self._language_known:
            self._record("language_known", self._language)
            return node.next
        if isinstance(node, MenuNode | LanguageNode | CollectNode):
            self._state = _State.INPUT
            self._dtmf_phase = not self._speech_for(node)
            self._ask(None, out)
            return None
        if isinstance(node, VerifyNode):
            return self._enter_verify(node, out)
        if isinstance(node, LookupNode):
            key = self._variables.get(node.key) or self._attributes.get(node.key)
            if not key:
                self._record("error", f"no {node.key}")
                self._state = _State.PLAYING
                return self._answer(node, "error", {}, out)
            personal = LOOKUPS[node.query].personal
            if personal and (self._verified is None or (node.key == "customer_id" and key != self._verified)):
                self._record("error", "not verified")  # the checks keep flows from this: belt and braces
                self._state = _State.PLAYING
                return self._answer(node, "error", {}, out)
            self._state = _State.LOOKUP
            out.append(Lookup(node.query, key, self._verified if personal else None))
            return None
        if isinstance(node, SetNode):
            changes = self._resolve(node.attributes)
            self._apply(changes)
            if changes:
                out.append(SetAttributes(changes))
            return node.next
        if isinstance(node, TransferNode):
            self._transfer(node, "requested", out)
        elif isinstance(node, HangupNode):
            self._stop(out)
            prompt = self._prompt("goodbye", node.prompt) if node.prompt is not None else None
            out.append(Hangup(prompt))
            self._finish("completed", "hangup", out)
        return None

    def _step(self, out: list[FlowCommand]) -> bool:
        self._steps += 1
        if self._steps > self._flows.settings.max_steps:
            self._escalate("max_steps", out)
            return False
        return True

    def _ask(self, prefix: tuple[str, Mapping[str, str]] | None, out: list[FlowCommand]) -> None:
        """Start an attempt at the current input node: its prompt (unless keys wait), then a Listen."""
        node = self._node()
        if self._plays:
            self._stop_playback(out)
        self._listen = None
        self._digits = ""
        inputs = MenuNode | LanguageNode | CollectNode | VerifyNode | OpenNode
        barge = node.barge_in if isinstance(node, inputs) else True
        if self._adapter_listening and not barge:
            out.append(StopListening())
            self._adapter_listening = False
        self._barge = barge
        if self._typeahead:
            return
        if prefix is not None:
            self._play(prefix[0], prefix[1], barge, out)
        if isinstance(node, LanguageNode):
            for language in self._flows.languages:
                self._seq += 1
                prompt_id = f"{self._node_id}.prompt.{language}#{self._seq}"
                self._plays.append(prompt_id)
                out.append(Play(prompt_id, node.prompt[language], language, barge))
        elif isinstance(node, MenuNode) and self._dtmf_phase and node.dtmf_prompt is not None:
            self._play("dtmf_prompt", node.dtmf_prompt, barge, out)
        elif isinstance(node, VerifyNode) and self._claiming and node.claim_prompt is not None:
            self._play("claim_prompt", node.claim_prompt, barge, out)
        elif isinstance(node, OpenNode) and self._confirming is not None:
            self._play("confirm", node.intents[self._confirming].confirm, barge, out)
        elif isinstance(node, MenuNode | CollectNode | VerifyNode | OpenNode):
            self._play("prompt", node.prompt, barge, out)

    def _fail(self, reason: str, out: list[FlowCommand]) -> None:
        """A no-input, no-match or invalid entry at the current input node: reprompt, fall back, or give up."""
        node = self._node()
        messages = self._flows.messages
        self._failures += 1
        # A "no" to every confirmation is no system message's case: the question is simply asked again.
        said: tuple[str, Mapping[str, str]] | None = (
            (reason, getattr(messages, reason)) if reason in Messages.model_fields else None)
        if isinstance(node, OpenNode):
            self._confirming, self._candidates, self._heard = None, [], {}
            if self._failures <= node.retries:
                self._reprompt(said, out)
            else:
                self._record("failed", reason)
                self._leave(node.fallback, out)
            return
        prefix: tuple[str, Mapping[str, str]] = said or (reason, messages.no_match)
        if isinstance(node, CollectNode) and reason == "invalid" and node.invalid_prompt is not None:
            prefix = ("invalid", node.invalid_prompt)
        if isinstance(node, MenuNode):
            if self._dtmf_phase:
                speech_was_on = self._speech_for(node)
                if (speech_was_on and self._failures < node.dtmf_attempts) or (
                        not speech_was_on and self._failures <= node.retries):
                    self._reprompt(prefix, out)
                    return
            elif self._failures <= node.retries:
                self._reprompt(prefix, out)
                return
            elif node.dtmf_attempts > 0:
                self._dtmf_phase = True
                self._failures = 0
                self._record("dtmf_only")
                self._reprompt(("dtmf_only", messages.dtmf_only), out)
                return
            self._record("failed", reason)
            if node.failure is not None:
                self._leave(node.failure, out)
            else:
                self._escalate(reason, out)
        elif isinstance(node, LanguageNode):
            if self._failures <= node.retries:
                self._reprompt(None, out)
            else:
                self._record("language_default", self._flows.default_language)
                self._choose_language(node, self._flows.default_language, out)
        elif isinstance(node, CollectNode):
            if self._failures <= node.retries:
                self._reprompt(prefix, out)
            else:
                self._record("failed", reason)
                self._leave(node.invalid, out)
        elif isinstance(node, VerifyNode) and not self._claiming:
            self._attempt_failed(node, prefix, out)
        elif isinstance(node, VerifyNode):
            if self._failures <= node.retries:
                self._reprompt(prefix, out)
            else:
                self._record("failed", reason)
                self._stop(out)
                self._listen = None
                follow = self._not_verified(node, out)
                if follow is not None:
                    self._goto(follow, out)

    def _reprompt(self, prefix: tuple[str, Mapping[str, str]] | None, out: list[FlowCommand]) -> None:
        if self._step(out):
            self._ask(prefix, out)

    def _leave(self, node_id: str, out: list[FlowCommand]) -> None:
        """Leave an input node for ``node_id``, stopping its prompt and its listen first."""
        self._stop(out)
        self._listen = None
        self._goto(node_id, out)

    def _choose_language(self, node: LanguageNode, language: str, out: list[FlowCommand]) -> None:
        self._language = language
        self._attributes["language"] = language
        self._stop(out)
        out.append(SetAttributes({"language": language}))
        self._listen = None
        self._goto(node.next, out)

    def _answer(self, node: LookupNode, branch: str, data: Mapping[str, object], out: list[FlowCommand]) -> str | None:
        """Say a lookup branch's answer; the node to go to at once if there is nothing to say."""
        answer: Answer = getattr(node, branch)
        key_field = LOOKUPS[node.query].key
        values: dict[str, object] = {key_field: self._variables.get(node.key) or self._attributes.get(node.key)}
        values.update(data)
        currency = data.get("currency")
        labels = {name: {raw: text[self._language] for raw, text in raws.items()}
                  for name, raws in node.labels.items()}
        text: str | None = None
        for template in answer.say:
            try:
                text = render_template(template[self._language], values, self._language, self._verbalizer,
                                       currency=currency if isinstance(currency, str) else node.currency,
                                       labels=labels)
                break
            except TemplateError:
                continue
        if branch == "found":
            if answer.say and text is None:
                self._record("unspeakable")
                return self._answer(node, "error", {}, out)
            self._self_served = True
        if text is None:
            return answer.next
        self._state = _State.PLAYING
        self._play(branch, {self._language: text}, node.barge_in, out, personal=True)
        self._after = answer.next
        return None

    def _escalate(self, reason: str, out: list[FlowCommand]) -> None:
        """To the agent at once: a failed menu, or the guard."""
        self._record("escalated", reason)
        self._transfer(self._flow.agent_node(), reason, out)

    def _transfer(self, node: TransferNode | None, reason: str, out: list[FlowCommand]) -> None:
        self._stop(out)
        if node is not None:
            self._apply(self._resolve(node.attributes))
        prompt = node.prompt if node is not None and node.prompt is not None else self._flows.messages.transfer
        out.append(Transfer(self._call_attributes(), node.queue if node else None, node.priority if node else None,
                            self._prompt("transfer", prompt), reason))
        self._finish("transferred" if reason == "requested" else "escalated", reason, out)

    def _finish(self, outcome: FlowOutcome, reason: str, out: list[FlowCommand]) -> None:
        self._state = _State.DONE
        self._plays.clear()
        self._adapter_listening = False
        out.append(Finished(outcome, reason, self._name, self._language, self._call_attributes(),
                            tuple(self._path), self._self_served, self.verification))

    # --- helpers --------------------------------------------------------------------------------------

    def _node(self) -> object:
        return self._flow.nodes[self._node_id]

    def _speech_for(self, node: object) -> bool:
        if isinstance(node, MenuNode):
            return self._speech and node.speech
        return self._speech and isinstance(node, LanguageNode)

    def _listen_for(self, node: object) -> Listen:
        settings = self._flows.settings
        if isinstance(node, CollectNode | VerifyNode):
            return Listen(self._listen_seq, self._node_id, (), (self._language,), node.timeout_s or settings.timeout_s,
                          False, self._max_keys(node) - len(self._digits), self._terminator(node))
        if isinstance(node, OpenNode):
            timeout = node.timeout_s or settings.timeout_s
            if self._confirming is not None:
                answers = (GrammarChoice("yes", "1", node.yes.get(self._language, ())),
                           GrammarChoice("no", "2", node.no.get(self._language, ())))
                return Listen(self._listen_seq, self._node_id, answers, (self._language,), timeout, self._speech, 1,
                              None)
            return Listen(self._listen_seq, self._node_id, (), (self._language,), timeout, self._speech, 1, None,
                          open=node.steering)
        if isinstance(node, LanguageNode):
            grammar = tuple(GrammarChoice(_language_intent(node, language), option.dtmf, option.phrases)
                            for language, option in node.options.items())
            return Listen(self._listen_seq, self._node_id, grammar, self._flows.languages,
                          node.timeout_s or settings.timeout_s, self._speech, 1, None)
        assert isinstance(node, MenuNode)
        speech = not self._dtmf_phase
        grammar = tuple(GrammarChoice(c.intent, c.dtmf, c.phrases.get(self._language, ()) if speech else ())
                        for c in node.choices)
        return Listen(self._listen_seq, self._node_id, grammar, (self._language,),
                      node.timeout_s or settings.timeout_s, speech, 1, None)

    def _play(self, part: str, text: Mapping[str, str], barge: bool, out: list[FlowCommand], *,
              personal: bool = False) -> None:
        play = self._prompt(part, text, barge, personal=personal)
        self._plays.append(play.prompt_id)
        self._barge = barge
        out.append(play)

    def _prompt(self, part: str, text: Mapping[str, str], barge: bool = False, *, personal: bool = False) -> Play:
        self._seq += 1
        return Play(f"{self._node_id}.{part}#{self._seq}", text[self._language], self._language, barge, personal)

    def _stop_playback(self, out: list[FlowCommand]) -> None:
        out.append(StopPlayback())
        self._plays.clear()

    def _stop(self, out: list[FlowCommand]) -> None:
        if self._plays:
            self._stop_playback(out)
        if self._adapter_listening:
            out.append(StopListening())
            self._adapter_listening = False

    def _resolve(self, attributes: Mapping[str, str]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for name, value in attributes.items():
            if value.startswith("$"):
                found = self._variables.get(value[1:]) or self._attributes.get(value[1:])
                if found:
                    resolved[name] = found
            else:
                resolved[name] = value
        return resolved

    def _apply(self, attributes: Mapping[str, str]) -> None:
        # Only a verification sets the customer (the checks refuse it in a flow): a keyed number must not.
        self._attributes.update({k: v for k, v in attributes.items() if k != "customer_id"})
        if attributes.get("language") in self._flows.languages:
            self._language = attributes["language"]

    def _call_attributes(self) -> dict[str, str]:
        return {**self._attributes, "language": self._language}

    def _record(self, event: str, value: str | None = None, intent: str | None = None,
                confidence: float | None = None) -> None:
        self._path.append(PathEntry(self._node_id, event, value, intent, confidence))


def _language_intent(node: LanguageNode, language: str) -> str:
    return node.options[language].intent or f"language_{language}"
