"""The IVR: bilingual (Bahasa Indonesia and English) flows, read from YAML, checked as a whole, and run by a pure
interpreter, one :class:`IvrSession` per caller: ``handle(event) -> [command, ...]``. Pure: no I/O, no clock.

- the flows file: :func:`load_flows_file` / :func:`parse_flows` (:class:`FlowError` names every problem),
  :meth:`Flows.flow_for` (service number -> flow), :meth:`Flows.static_prompts` (to pre-render at start);
- the session's events (:data:`FlowEvent`: started, a prompt finished, a key, speech, no input, a lookup's
  result, a verification's result, the caller hung up) and commands (:data:`FlowCommand`: play, listen, look up,
  verify the caller's keys, set attributes, transfer, hang up, finished, with the caller's :class:`Verification`);
- answers' templates and the :class:`Verbalizer` they are said with (:class:`SpeakVerbalizer`: numbers, money,
  dates in words);
- what cti says outside the flows (position and wait, the rules' messages): :func:`position_text`,
  :func:`message_text`.

Typical adapter loop (the telephony adapter's is :class:`cti.telephony.IvrRunner`)::

    flows = load_flows_file(path)                  # at start: FlowError names every problem
    name = flows.flow_for(service_number)          # None: no IVR for this number
    session = IvrSession(flows, name, verbalizer=v, caller=Caller(language="en", customer_id="C1"))
    for command in session.handle(Started()):     # then every event the call produces
        ...                                        # Play, Listen, Lookup, Transfer, Finished, ...
"""

from cti.ivr._announcements import MESSAGES, message_text, position_text
from cti.ivr._checks import SAMPLE_FLOWS, FlowError, load_flows_file, parse_flows
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
from cti.ivr._model import LOOKUPS, Flow, Flows, normalize_phrase
from cti.ivr._session import Caller, IvrSession
from cti.ivr._speak import SpeakVerbalizer
from cti.ivr._template import PLACEHOLDER_TYPES, TemplateError, Verbalizer

__all__ = [
    "LOOKUPS",
    "MESSAGES",
    "PLACEHOLDER_TYPES",
    "SAMPLE_FLOWS",
    "Caller",
    "CallerHangup",
    "Dtmf",
    "Finished",
    "Flow",
    "FlowCommand",
    "FlowError",
    "FlowEvent",
    "FlowOutcome",
    "Flows",
    "GrammarChoice",
    "Hangup",
    "IvrSession",
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
    "SpeakVerbalizer",
    "SpeechResult",
    "SpeechStarted",
    "Started",
    "StopListening",
    "StopPlayback",
    "TemplateError",
    "Transfer",
    "Verbalizer",
    "Verification",
    "VerificationMethod",
    "Verify",
    "VerifyResult",
    "load_flows_file",
    "message_text",
    "normalize_phrase",
    "parse_flows",
    "position_text",
]
