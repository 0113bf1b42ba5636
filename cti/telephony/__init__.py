"""The voice channel's adapter: Asterisk over ARI (:mod:`cti.ari`) to the distributor and back.

:class:`Telephony` turns Asterisk's events into the distributor's events (a call arrives, a phone answers, a
leg hangs up) and resyncs on every (re)connect; :class:`VoiceActions` carries out what the distributor decides
for voice (offer, bridge, hold, hang up, announce, call back); the :class:`IvrRunner` runs IVR flows on
callers' channels with speech recognition; :class:`Monitors` connects supervisors to calls;
:class:`AdmissionControl` sheds new callers under overload. With several Asterisk media nodes, one of each per
node behind :class:`MediaNodes` (:class:`VoiceRouter` sends each command to its call's node, :class:`PhoneHomes`
says where each phone is homed). Callers' names and numbers are cleaned and bounded
where they enter (:func:`clean_caller_name`, :func:`clean_caller_number`), and again in every caller id sent.
"""

from cti.telephony._actions import VoiceActions, bridge_call, call_bridge_id, hold_bridge_id
from cti.telephony._admission import Admission, AdmissionControl
from cti.telephony._callerid import NAME_LENGTH, NUMBER_LENGTH, caller_id, clean_caller_name, clean_caller_number
from cti.telephony._edge import EdgeShedRecorder
from cti.telephony._ivr import IvrCall, IvrHandoff, IvrRunner, PromptSource, Recognition, Recognizer, SpeechSession
from cti.telephony._monitor import Monitor, MonitorError, MonitorMode, Monitors
from cti.telephony._nodes import MediaNodes, PhoneHomes, RoutedRecorder, VoiceRouter, list_endpoints, trunk_endpoint
from cti.telephony._recorder import BridgeRecorder
from cti.telephony._speech import AsrBridge, TtsPrompts, open_questions
from cti.telephony._telephony import (
    ROUTING_TICK_SECONDS,
    SHED_CAUSE,
    LivePicture,
    Telephony,
    ivr_record,
    offer_failure_reason,
)

__all__ = [
    "NAME_LENGTH",
    "NUMBER_LENGTH",
    "ROUTING_TICK_SECONDS",
    "SHED_CAUSE",
    "Admission",
    "AdmissionControl",
    "AsrBridge",
    "BridgeRecorder",
    "EdgeShedRecorder",
    "IvrCall",
    "IvrHandoff",
    "IvrRunner",
    "LivePicture",
    "MediaNodes",
    "Monitor",
    "MonitorError",
    "MonitorMode",
    "Monitors",
    "PhoneHomes",
    "PromptSource",
    "Recognition",
    "Recognizer",
    "RoutedRecorder",
    "SpeechSession",
    "Telephony",
    "TtsPrompts",
    "VoiceActions",
    "VoiceRouter",
    "bridge_call",
    "call_bridge_id",
    "caller_id",
    "clean_caller_name",
    "clean_caller_number",
    "hold_bridge_id",
    "ivr_record",
    "list_endpoints",
    "offer_failure_reason",
    "open_questions",
    "trunk_endpoint",
]
