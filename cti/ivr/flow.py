"""IVR flows: the public surface of the flow language and its interpreter.

- :mod:`cti.ivr.flow_model`: the flows file's models; :meth:`Flows.flow_for` (service number -> flow),
  :meth:`Flows.static_prompts` (to pre-render at start).
- :mod:`cti.ivr.flow_checks`: :func:`load_flows_file` and :func:`parse_flows`, validating it as a whole.
- :mod:`cti.ivr.flow_session`: :class:`IvrSession`, one per call: ``handle(event) -> [command, ...]``.
- :mod:`cti.ivr.flow_events`: the events and commands, plain frozen dataclasses.
- :mod:`cti.ivr.flow_template`: answer templates and the :class:`Verbalizer` the session reads values with.

Typical adapter loop::

    flows = load_flows_file(path)                  # at start: FlowError names every problem
    name = flows.flow_for(service_number)          # None: no IVR for this number
    session = IvrSession(flows, name, verbalizer=v, caller=Caller(language="en", customer_id="C1"))
    for command in session.handle(Started()):     # then every event the call produces
        ...                                        # Play, Listen, Lookup, Transfer, Finished, ...
"""

from cti.ivr.flow_checks import FlowError, load_flows_file, parse_flows
from cti.ivr.flow_events import (
    CallerHangup,
    Command,
    Dtmf,
    Event,
    Finished,
    GrammarChoice,
    Hangup,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    Outcome,
    PathEntry,
    Play,
    PromptFinished,
    SetAttributes,
    SpeechResult,
    SpeechStarted,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
)
from cti.ivr.flow_model import LOOKUPS, Flow, Flows, normalize_phrase
from cti.ivr.flow_session import Caller, IvrSession
from cti.ivr.flow_template import PLACEHOLDER_TYPES, TemplateError, Verbalizer

__all__ = [
    "LOOKUPS",
    "PLACEHOLDER_TYPES",
    "Caller",
    "CallerHangup",
    "Command",
    "Dtmf",
    "Event",
    "Finished",
    "Flow",
    "FlowError",
    "Flows",
    "GrammarChoice",
    "Hangup",
    "IvrSession",
    "Listen",
    "Lookup",
    "LookupResult",
    "NoInput",
    "Outcome",
    "PathEntry",
    "Play",
    "PromptFinished",
    "SetAttributes",
    "SpeechResult",
    "SpeechStarted",
    "Started",
    "StopListening",
    "StopPlayback",
    "TemplateError",
    "Transfer",
    "Verbalizer",
    "load_flows_file",
    "normalize_phrase",
    "parse_flows",
]
