"""Random calls: whatever the events, the session keeps the invariants of its docstring."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ivr import (
    Caller,
    CallerHangup,
    Dtmf,
    Finished,
    FlowCommand,
    FlowEvent,
    Flows,
    Hangup,
    IvrSession,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    Play,
    PromptFinished,
    Record,
    Recorded,
    SpeechResult,
    SpeechStarted,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
    Verify,
    VerifyResult,
    parse_flows,
)

SAMPLE = Path(__file__).resolve().parents[2] / "cti" / "ivr" / "flows" / "default.yaml"
_DOCUMENT = yaml.safe_load(SAMPLE.read_text())
FLOWS = parse_flows(_DOCUMENT)
TIGHT = parse_flows({**_DOCUMENT, "settings": {**_DOCUMENT["settings"], "max_steps": 8}})


def _calm(document: dict[str, Any]) -> dict[str, Any]:
    """The sample with no barge-in anywhere: every prompt is heard to its end."""
    calm = copy.deepcopy(document)
    for flow in calm["flows"].values():
        for node in flow["nodes"].values():
            if node["kind"] in ("menu", "language", "collect", "verify", "play", "lookup"):
                node["barge_in"] = False
    return calm


CALM = parse_flows(_calm(_DOCUMENT))
VARIANTS = {"sample": FLOWS, "tight": TIGHT, "calm": CALM}


class Words:
    """A verbalizer that refuses some values, as a real one may."""

    def digits(self, value: str, language: str) -> str:
        return value

    def number(self, value: int | Decimal, language: str) -> str:
        return str(value)

    def money(self, amount: Decimal, currency: str, language: str) -> str:
        if amount < 0:
            raise ValueError("negative")
        return f"{amount} {currency}"

    def date(self, value: date, language: str) -> str:
        if value.year < 2000:
            raise ValueError("too old")
        return value.isoformat()


KEYS = [*"0123456789*#ABCD", "x", "12", ""]
ENTRIES = ["12345674", "2468#", "17081975", "12#", "20261122#", "1234567#"]
INTENTS = [None, "order_status", "balance", "sales", "technical", "agent", "yes", "no", "internet", "language_id",
           "language_en", "id", "en", "bogus"]
TEXTS = ["", "saldo", "my bill", "English", "bahasa indonesia", "tidak", "operator", "pizza", "x" * 5000]
VALUES = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**12, 10**12), st.dates(),
                   st.decimals(allow_nan=True, allow_infinity=True), st.floats(), st.booleans(),
                   st.sampled_from(["2026-11-20", "12345678", "shipped", "paid", "nope"]))
FIELDS = ["status", "shipped_on", "balance", "due_date", "order_number", "customer_number", "currency", "total"]


class Adapter:
    """Executes commands as far as the invariants need: which prompts are outstanding, whether it listens."""

    def __init__(self, flows: Flows) -> None:
        self.flows = flows
        self.plays: dict[str, bool] = {}  # outstanding prompt id -> barge-in
        self.listen: Listen | None = None
        self.lookup: Lookup | None = None
        self.verify: Verify | None = None
        self.record: Record | None = None
        self.secrets: list[str] = []
        self.prompt_ids: set[str] = set()
        self.listens = 0
        self.finished: Finished | None = None

    def run(self, session: IvrSession, event: FlowEvent, elapsed: float | None = None) -> list[FlowCommand]:
        if isinstance(event, PromptFinished):
            self.plays.pop(event.prompt_id, None)
        if isinstance(event, LookupResult):
            self.lookup = None
        if isinstance(event, VerifyResult):
            self.verify = None
        if isinstance(event, Recorded) and self.record is not None and event.record_id == self.record.record_id:
            self.record = None
        commands = session.handle(event, elapsed_s=elapsed)
        if self.finished is not None:
            assert commands == [], "commands after Finished"
            return commands
        for i, command in enumerate(commands):
            self.check(command, commands, i)
        return commands

    def check(self, command: FlowCommand, commands: list[FlowCommand], i: int) -> None:
        if isinstance(command, Play):
            assert command.prompt_id not in self.prompt_ids, "a prompt id used twice"
            assert command.language in self.flows.languages
            self.prompt_ids.add(command.prompt_id)
            self.plays[command.prompt_id] = command.barge_in
        elif isinstance(command, StopPlayback):
            assert self.plays, "StopPlayback with nothing playing"
            self.plays.clear()
        elif isinstance(command, Listen):
            assert all(self.plays.values()), "Listen while a prompt without barge-in plays"
            self.listen = command
            self.listens += 1
        elif isinstance(command, StopListening):
            assert self.listen is not None, "StopListening while not listening"
            self.listen = None
        elif isinstance(command, Lookup):
            self.lookup = command
            # Personal data only for the verified customer, and a balance only their own.
            assert command.customer_id is not None
            assert command.kind != "balance" or command.key == command.customer_id
        elif isinstance(command, Verify):
            assert self.listen is None, "Verify while listening"
            self.verify = command
            self.secrets.append(command.keys)
        elif isinstance(command, Record):
            assert not self.plays, "Record while a prompt plays"
            assert self.listen is None, "Record while listening"
            assert self.record is None, "a second Record while one is going"
            assert command.record_id not in self.prompt_ids, "a record id used twice"
            self.prompt_ids.add(command.record_id)
            self.record = command
        elif isinstance(command, Transfer | Hangup):
            assert i == len(commands) - 2 and isinstance(commands[-1], Finished)
            assert not self.plays or isinstance(command, Transfer | Hangup)
        elif isinstance(command, Finished):
            assert i == len(commands) - 1, "Finished is not last"
            if command.outcome == "abandoned_in_ivr":
                assert commands == [command]
            else:
                assert i >= 1 and isinstance(commands[i - 1], Transfer | Hangup)
            self.finished = command
            assert sum(1 for e in command.path if e.event == "enter") <= self.flows.settings.max_steps
            # The keys of a PIN or date of birth are never recorded where they were keyed; a claim never becomes the
            # customer. (The same digits keyed at another prompt, as a customer or order number, are recorded as
            # that prompt's answer: the caller gave them there.)
            verifying = {e.node for e in command.path if e.event in ("keyed", "verified", "verify_failed")}
            assert not any(e.value in self.secrets for e in command.path
                           if e.node in verifying and e.event != "claimed")
            comment = command.attributes.get("comment")
            assert comment is None or comment in self.prompt_ids, "a comment that was never recorded"
            customer = command.attributes.get("customer_id")
            assert customer == command.verification.customer_id
            assert command.verification.failures <= self.flows.settings.verify_attempts
            assert self.listens <= self.flows.settings.max_steps


@st.composite
def an_event(draw: st.DrawFn, adapter: Adapter) -> FlowEvent:
    kind = draw(st.sampled_from(["started", "finished", "finished", "dtmf", "dtmf", "dtmf", "speech_started",
                                 "speech", "speech", "no_input", "no_input", "lookup", "verify", "recorded", "hangup"]))
    if kind == "started":
        return Started()
    if kind == "finished":
        outstanding = sorted(adapter.plays)
        real: bool = draw(st.booleans())
        if outstanding and real:
            return PromptFinished(draw(st.sampled_from(outstanding)))
        return PromptFinished(draw(st.sampled_from(["language.prompt.id#1", "main.prompt#2", "nope"])))
    if kind == "dtmf":
        return Dtmf(draw(st.sampled_from(KEYS)))
    if kind == "speech_started":
        return SpeechStarted()
    if kind == "speech":
        listen_id = draw(st.sampled_from([None, adapter.listen.listen_id if adapter.listen else None, 999]))
        return SpeechResult(draw(st.sampled_from(INTENTS)), draw(st.sampled_from(TEXTS)),
                            draw(st.one_of(st.floats(), st.sampled_from([0.0, 0.49, 0.5, 0.9, 1.0]))), listen_id)
    if kind == "no_input":
        return NoInput(draw(st.sampled_from([None, adapter.listen.listen_id if adapter.listen else None, 999])))
    if kind == "lookup":
        data = draw(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=5))
        query = adapter.lookup.kind if adapter.lookup and draw(st.booleans()) else draw(
            st.sampled_from(["order_status", "balance", "bogus"]))
        return LookupResult(query, draw(st.booleans()), data, draw(st.sampled_from([None, None, "timeout"])))
    if kind == "verify":
        return a_verify_result(draw)
    if kind == "recorded":
        record_id = adapter.record.record_id if adapter.record and draw(st.booleans()) else "comment#99"
        return Recorded(record_id, draw(st.floats(0, 60)), draw(st.booleans()),
                        draw(st.sampled_from([None, None, "failed"])))
    return CallerHangup()


def a_verify_result(draw: st.DrawFn) -> VerifyResult:
    return VerifyResult(draw(st.booleans()), draw(st.sampled_from([None, "pin", "dob", "bogus"])),
                        draw(st.sampled_from([None, None, "timeout"])))


FLOW_NAMES = st.sampled_from(["sales", "support", "survey"])
CALLERS = st.builds(Caller, language=st.sampled_from([None, "id", "en", "fr"]),
                    customer_id=st.sampled_from([None, "C42"]),
                    attributes=st.sampled_from([{}, {"value_tier": "gold"}]))


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(sorted(VARIANTS)), FLOW_NAMES, CALLERS, st.booleans())
def test_random_events_never_break_the_invariants(data: st.DataObject, variant: str, flow: str, caller: Caller,
                                                  speech: bool) -> None:
    flows = VARIANTS[variant]
    session = IvrSession(flows, flow, verbalizer=Words(), caller=caller, speech=speech)
    adapter = Adapter(flows)
    adapter.run(session, Started())
    for _ in range(data.draw(st.integers(0, 100))):
        elapsed = data.draw(st.one_of(st.none(), st.none(), st.floats(0, 700)))
        adapter.run(session, data.draw(an_event(adapter)), elapsed)
        if session.finished:
            assert adapter.finished is not None
            assert adapter.run(session, data.draw(an_event(adapter))) == []
            break


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(sorted(VARIANTS)), FLOW_NAMES, CALLERS, st.booleans())
def test_a_cooperative_adapter_always_reaches_the_end(data: st.DataObject, variant: str, flow: str, caller: Caller,
                                                      speech: bool) -> None:
    """Prompts finish, timeouts fire, lookups answer: whatever the caller does, the call leaves the IVR."""
    flows = VARIANTS[variant]
    session = IvrSession(flows, flow, verbalizer=Words(), caller=caller, speech=speech)
    adapter = Adapter(flows)
    adapter.run(session, Started())
    events = 0
    while adapter.finished is None:
        events += 1
        assert events < 3000, "the session did not end"
        if adapter.plays and data.draw(st.integers(0, 3)) > 0:
            adapter.run(session, PromptFinished(next(iter(adapter.plays))))
        elif adapter.lookup is not None:
            adapter.run(session, LookupResult(adapter.lookup.kind, data.draw(st.booleans()),
                                              data.draw(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4)),
                                              data.draw(st.sampled_from([None, "timeout"]))))
        elif adapter.verify is not None:
            adapter.run(session, a_verify_result(data.draw))
        elif adapter.record is not None:
            adapter.run(session, Recorded(adapter.record.record_id, data.draw(st.floats(0, 30)),
                                          data.draw(st.booleans()), data.draw(st.sampled_from([None, "failed"]))))
        elif adapter.listen is not None and adapter.listen.max_digits > 1 and data.draw(st.booleans()):
            for digit in data.draw(st.sampled_from(ENTRIES)):  # a whole entry: a customer number, a PIN, a date
                adapter.run(session, Dtmf(digit))
        elif adapter.listen is not None and data.draw(st.booleans()):
            adapter.run(session, Dtmf(data.draw(st.sampled_from(KEYS))))
        elif adapter.listen is not None and adapter.listen.speech_enabled and data.draw(st.booleans()):
            adapter.run(session, SpeechResult(data.draw(st.sampled_from(INTENTS)), data.draw(st.sampled_from(TEXTS)),
                                              data.draw(st.floats(0, 1))))
        elif adapter.plays:
            adapter.run(session, PromptFinished(next(iter(adapter.plays))))
        else:
            adapter.run(session, NoInput())
    assert adapter.finished.outcome in ("transferred", "escalated", "completed")


def test_a_scripted_sequence_through_the_adapter_model() -> None:
    """The checker itself: a known-good call passes it."""
    session = IvrSession(FLOWS, "support", verbalizer=Words(), caller=Caller(language="en"))
    adapter = Adapter(FLOWS)
    script: list[Any] = [Started(), PromptFinished("welcome.prompt#1"), SpeechStarted(),
                         SpeechResult("agent", "i want to talk to an agent", 0.9, decision="route")]
    for event in script:
        adapter.run(session, event)
    assert adapter.finished is not None and adapter.finished.outcome == "transferred"
