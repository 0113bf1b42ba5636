"""Event parsing, from frames captured from Asterisk 22.10 (app ``cti-dev``), and ordering keys.

Captured by originating ``Local/123@from-pstn`` into the app, bridging it, playing to it and hanging it
up; plus an originate to an unreachable ``PJSIP/7001`` and a subscribed bridge being destroyed. The
ChannelDtmfReceived frame follows the ARI docs' shape around a captured channel (no DTMF source here).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from cti.ari import (
    AriProtocolError,
    Bridge,
    BridgeDestroyed,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    Dial,
    LiveRecording,
    Playback,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    parse_event,
)

# fmt: off
FRAMES: list[dict[str, Any]] = [{'variable': 'CTI_X',
  'value': '1',
  'type': 'ChannelVarset',
  'timestamp': '2026-11-22T20:25:52.290+0000',
  'channel': {'id': 'cap-ch-2;2',
              'name': 'Local/123@from-pstn-00000000;2',
              'state': 'Ring',
              'protocol_id': '',
              'caller': {'name': '', 'number': ''},
              'connected': {'name': '', 'number': ''},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': '',
                           'app_data': ''},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'Dial',
  'timestamp': '2026-11-22T20:25:52.290+0000',
  'dialstatus': '',
  'forward': '',
  'dialstring': '123@from-pstn',
  'peer': {'id': 'cap-ch-2',
           'name': 'Local/123@from-pstn-00000000;1',
           'state': 'Down',
           'protocol_id': '',
           'caller': {'name': 'Bob', 'number': '5551234'},
           'connected': {'name': 'Bob', 'number': '5551234'},
           'accountcode': '',
           'dialplan': {'context': 'from-pstn',
                        'exten': '123',
                        'priority': 1,
                        'app_name': 'AppDial2',
                        'app_data': '(Outgoing Line)'},
           'creationtime': '2026-11-22T20:25:52.290+0000',
           'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelStateChange',
  'timestamp': '2026-11-22T20:25:52.291+0000',
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'AppDial2',
                           'app_data': '(Outgoing Line)'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'Dial',
  'timestamp': '2026-11-22T20:25:52.291+0000',
  'dialstatus': 'ANSWER',
  'forward': '',
  'dialstring': '123@from-pstn',
  'peer': {'id': 'cap-ch-2',
           'name': 'Local/123@from-pstn-00000000;1',
           'state': 'Up',
           'protocol_id': '',
           'caller': {'name': 'Bob', 'number': '5551234'},
           'connected': {'name': 'Bob', 'number': '5551234'},
           'accountcode': '',
           'dialplan': {'context': 'from-pstn',
                        'exten': '123',
                        'priority': 1,
                        'app_name': 'AppDial2',
                        'app_data': '(Outgoing Line)'},
           'creationtime': '2026-11-22T20:25:52.290+0000',
           'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'StasisStart',
  'timestamp': '2026-11-22T20:25:52.291+0000',
  'args': ['inbound', '1500100'],
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelEnteredBridge',
  'timestamp': '2026-11-22T20:25:52.293+0000',
  'bridge': {'id': 'cap-br-2',
             'technology': 'simple_bridge',
             'bridge_type': 'mixing',
             'bridge_class': 'stasis',
             'creator': 'Stasis',
             'name': 'capture2',
             'channels': ['cap-ch-2'],
             'creationtime': '2026-11-22T20:25:52.292+0000',
             'video_mode': 'talker'},
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'PlaybackStarted',
  'timestamp': '2026-11-22T20:25:52.294+0000',
  'playback': {'id': 'cap-pb-1',
               'media_uri': 'tone:ring;tonezone=us',
               'target_uri': 'channel:cap-ch-2',
               'language': 'en',
               'state': 'playing'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'PlaybackFinished',
  'timestamp': '2026-11-22T20:25:52.797+0000',
  'playback': {'id': 'cap-pb-1',
               'media_uri': 'tone:ring;tonezone=us',
               'target_uri': 'channel:cap-ch-2',
               'language': 'en',
               'state': 'done'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelLeftBridge',
  'timestamp': '2026-11-22T20:25:52.798+0000',
  'bridge': {'id': 'cap-br-2',
             'technology': 'simple_bridge',
             'bridge_type': 'mixing',
             'bridge_class': 'stasis',
             'creator': 'Stasis',
             'name': 'capture2',
             'channels': [],
             'creationtime': '2026-11-22T20:25:52.292+0000',
             'video_mode': 'talker'},
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'cause': 32,
  'soft': True,
  'type': 'ChannelHangupRequest',
  'timestamp': '2026-11-22T20:25:53.303+0000',
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelDtmfReceived',
  'timestamp': '2026-11-22T20:25:52.900+0000',
  'digit': '5',
  'duration_ms': 120,
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'StasisEnd',
  'timestamp': '2026-11-22T20:25:53.303+0000',
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'Stasis',
                           'app_data': 'cti-dev,inbound,1500100'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'cause': 16,
  'type': 'ChannelHangupRequest',
  'timestamp': '2026-11-22T20:25:53.303+0000',
  'channel': {'id': 'cap-ch-2;2',
              'name': 'Local/123@from-pstn-00000000;2',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 2,
                           'app_name': 'Playback',
                           'app_data': 'ss-noservice'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelDestroyed',
  'timestamp': '2026-11-22T20:25:53.303+0000',
  'cause': 16,
  'cause_txt': 'Normal Clearing',
  'channel': {'id': 'cap-ch-2',
              'name': 'Local/123@from-pstn-00000000;1',
              'state': 'Up',
              'protocol_id': '',
              'caller': {'name': 'Bob', 'number': '5551234'},
              'connected': {'name': 'Bob', 'number': '5551234'},
              'accountcode': '',
              'dialplan': {'context': 'from-pstn',
                           'exten': '123',
                           'priority': 1,
                           'app_name': 'AppDial2',
                           'app_data': '(Outgoing Line)'},
              'creationtime': '2026-11-22T20:25:52.290+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'BridgeDestroyed',
  'timestamp': '2026-11-22T20:26:17.691+0000',
  'bridge': {'id': 'cap-br-4',
             'technology': 'simple_bridge',
             'bridge_type': 'mixing',
             'bridge_class': 'stasis',
             'creator': 'Stasis',
             'name': 'four',
             'channels': [],
             'creationtime': '2026-11-22T20:26:17.690+0000',
             'video_mode': 'talker'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'Dial',
  'timestamp': '2026-11-22T20:25:30.263+0000',
  'dialstatus': '',
  'forward': '',
  'dialstring': '7001',
  'peer': {'id': 'cap-ch-1',
           'name': 'PJSIP/7001-00000000',
           'state': 'Down',
           'protocol_id': 'eeaa2ca1-9117-4c48-a5a1-db207c8dd501',
           'caller': {'name': 'Sim agent 7001', 'number': '7001'},
           'connected': {'name': '', 'number': ''},
           'accountcode': '',
           'dialplan': {'context': 'from-agents',
                        'exten': 's',
                        'priority': 1,
                        'app_name': 'AppDial2',
                        'app_data': '(Outgoing Line)'},
           'creationtime': '2026-11-22T20:25:30.261+0000',
           'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ChannelDestroyed',
  'timestamp': '2026-11-22T20:25:33.267+0000',
  'cause': 19,
  'cause_txt': 'User alerting, no answer',
  'tech_cause': 480,
  'channel': {'id': 'cap-ch-1',
              'name': 'PJSIP/7001-00000000',
              'state': 'Down',
              'protocol_id': 'eeaa2ca1-9117-4c48-a5a1-db207c8dd501',
              'caller': {'name': 'Sim agent 7001', 'number': '7001'},
              'connected': {'name': '', 'number': ''},
              'accountcode': '',
              'dialplan': {'context': 'from-agents',
                           'exten': 's',
                           'priority': 1,
                           'app_name': 'AppDial2',
                           'app_data': '(Outgoing Line)'},
              'creationtime': '2026-11-22T20:25:30.261+0000',
              'language': 'en'},
  'asterisk_id': '02:fc:00:00:00:01',
  'application': 'cti-dev'},
 {'type': 'ApplicationReplaced',
  'timestamp': '2026-11-22T20:28:55.664+0000',
  'application': 'cti-dev',
  'asterisk_id': '02:fc:00:00:00:01'}]
# fmt: on


def frame(event_type: str, n: int = 0) -> dict[str, Any]:
    return copy.deepcopy([f for f in FRAMES if f["type"] == event_type][n])


def test_every_captured_frame_parses_to_its_type() -> None:
    types = [type(parse_event(f)).__name__ for f in FRAMES]
    assert types == [
        "UnknownEvent", "Dial", "ChannelStateChange", "Dial", "StasisStart", "ChannelEnteredBridge",
        "PlaybackStarted", "PlaybackFinished", "ChannelLeftBridge", "ChannelHangupRequest",
        "ChannelDtmfReceived", "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed", "BridgeDestroyed",
        "Dial", "ChannelDestroyed", "UnknownEvent",
    ]


def test_keys_follow_the_channel_then_bridge_then_playback_target() -> None:
    keys = [parse_event(f).key for f in FRAMES]
    assert keys == [
        "cap-ch-2;2", "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2",
        "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2", "cap-ch-2;2", "cap-ch-2", "cap-br-4", "cap-ch-1",
        "cap-ch-1", None,
    ]


def test_stasis_start() -> None:
    event = parse_event(frame("StasisStart"))
    assert isinstance(event, StasisStart)
    assert event.application == "cti-dev"
    assert event.timestamp == "2026-11-22T20:25:52.291+0000"
    assert event.args == ("inbound", "1500100")
    assert event.replace_channel is None
    assert event.channel == Channel(
        id="cap-ch-2",
        name="Local/123@from-pstn-00000000;1",
        state="Up",
        caller_number="5551234",
        caller_name="Bob",
        connected_number="5551234",
        connected_name="Bob",
        dialplan_context="from-pstn",
        dialplan_exten="123",
        dialplan_app="Stasis",
        dialplan_app_data="cti-dev,inbound,1500100",
        creationtime="2026-11-22T20:25:52.290+0000",
        language="en",
    )
    assert event.raw["asterisk_id"] == "02:fc:00:00:00:01"


def test_an_events_time_is_asterisks_stamp_with_its_zone() -> None:
    end = parse_event(frame("StasisEnd"))
    assert (end.timestamp, end.at) == ("2026-11-22T20:25:53.303+0000",
                                       datetime(2026, 11, 22, 20, 25, 53, 303000, tzinfo=UTC))
    # Asterisk stamps in its own zone: the same instant.
    assert parse_event({**frame("StasisEnd"), "timestamp": "2026-11-23T03:25:53.303+0700"}).at == end.at
    for stamp in ("", "20:25:52", "2026-11-22T20:25:53.303"):  # none, no date, no zone: not a usable time
        assert parse_event({**frame("StasisEnd"), "timestamp": stamp}).at is None, stamp


def test_stasis_start_with_replace_channel() -> None:
    data = frame("StasisStart")
    data["replace_channel"] = {"id": "old-1", "name": "PJSIP/7001-00000001", "state": "Up"}
    event = parse_event(data)
    assert isinstance(event, StasisStart)
    assert event.replace_channel is not None
    assert event.replace_channel.id == "old-1"
    assert event.key == "cap-ch-2"


def test_stasis_end_and_state_change() -> None:
    end = parse_event(frame("StasisEnd"))
    assert isinstance(end, StasisEnd)
    assert end.channel.id == "cap-ch-2"
    change = parse_event(frame("ChannelStateChange"))
    assert isinstance(change, ChannelStateChange)
    assert change.channel.state == "Up"


def test_channel_destroyed() -> None:
    normal = parse_event(frame("ChannelDestroyed", 0))
    assert isinstance(normal, ChannelDestroyed)
    assert (normal.cause, normal.cause_txt) == (16, "Normal Clearing")
    no_answer = parse_event(frame("ChannelDestroyed", 1))
    assert isinstance(no_answer, ChannelDestroyed)
    assert (no_answer.cause, no_answer.cause_txt) == (19, "User alerting, no answer")
    assert no_answer.channel.caller_name == "Sim agent 7001"


def test_channel_hangup_request_soft_and_hard() -> None:
    soft = parse_event(frame("ChannelHangupRequest", 0))
    assert isinstance(soft, ChannelHangupRequest)
    assert (soft.cause, soft.soft) == (32, True)
    hard = parse_event(frame("ChannelHangupRequest", 1))
    assert isinstance(hard, ChannelHangupRequest)
    assert (hard.cause, hard.soft) == (16, False)  # Asterisk omits "soft" when false
    data = frame("ChannelHangupRequest", 1)
    del data["cause"]
    bare = parse_event(data)
    assert isinstance(bare, ChannelHangupRequest)
    assert bare.cause is None


def test_bridge_events() -> None:
    entered = parse_event(frame("ChannelEnteredBridge"))
    assert isinstance(entered, ChannelEnteredBridge)
    assert entered.bridge == Bridge(
        id="cap-br-2",
        bridge_type="mixing",
        technology="simple_bridge",
        bridge_class="stasis",
        name="capture2",
        channels=("cap-ch-2",),
    )
    assert entered.channel.id == "cap-ch-2"
    assert entered.key == "cap-ch-2"
    left = parse_event(frame("ChannelLeftBridge"))
    assert isinstance(left, ChannelLeftBridge)
    assert left.bridge.channels == ()
    destroyed = parse_event(frame("BridgeDestroyed"))
    assert isinstance(destroyed, BridgeDestroyed)
    assert destroyed.bridge.id == "cap-br-4"
    assert destroyed.key == "cap-br-4"


def test_dtmf() -> None:
    event = parse_event(frame("ChannelDtmfReceived"))
    assert isinstance(event, ChannelDtmfReceived)
    assert (event.digit, event.duration_ms) == ("5", 120)
    assert event.key == "cap-ch-2"


def test_playback_events_share_the_target_channels_lane() -> None:
    started = parse_event(frame("PlaybackStarted"))
    assert isinstance(started, PlaybackStarted)
    assert started.playback == Playback(
        id="cap-pb-1", media_uri="tone:ring;tonezone=us", state="playing", target_uri="channel:cap-ch-2"
    )
    assert started.key == "cap-ch-2"
    finished = parse_event(frame("PlaybackFinished"))
    assert isinstance(finished, PlaybackFinished)
    assert finished.playback.state == "done"


def test_playback_on_a_bridge_and_without_target() -> None:
    assert Playback(id="p", target_uri="bridge:br-1").target_id == "br-1"
    assert Playback(id="p", target_uri="").target_id is None
    assert Playback(id="p", target_uri="channel:").target_id is None
    data = frame("PlaybackStarted")
    del data["playback"]["target_uri"]
    assert parse_event(data).key is None


def test_dial() -> None:
    ringing = parse_event(frame("Dial", 0))
    assert isinstance(ringing, Dial)
    assert ringing.dialstatus == ""
    assert ringing.caller is None
    assert ringing.peer.id == "cap-ch-2"
    answered = parse_event(frame("Dial", 1))
    assert isinstance(answered, Dial)
    assert answered.dialstatus == "ANSWER"
    data = frame("Dial", 1)
    data["caller"] = {"id": "caller-1", "name": "PJSIP/pstn-00000001"}
    with_caller = parse_event(data)
    assert isinstance(with_caller, Dial)
    assert with_caller.caller is not None
    assert with_caller.caller.id == "caller-1"
    assert with_caller.key == "cap-ch-2"  # ordered with the peer, the channel we dialled


def test_unknown_events_keep_raw_and_key() -> None:
    varset = parse_event(frame("ChannelVarset"))
    assert isinstance(varset, UnknownEvent)
    assert varset.type == "ChannelVarset"
    assert varset.raw["variable"] == "CTI_X"
    assert varset.key == "cap-ch-2;2"
    replaced = parse_event(frame("ApplicationReplaced"))
    assert isinstance(replaced, UnknownEvent)
    assert replaced.key is None
    assert parse_event({"type": "BridgeMerged", "bridge": {"id": "b1"}}).key == "b1"
    assert parse_event({"type": "Thing", "playback": {"target_uri": "channel:c9"}}).key == "c9"
    assert parse_event({"type": "Thing", "channel": "not-an-object"}).key is None


def test_models_tolerate_missing_optional_fields() -> None:
    assert Channel.from_json({"id": "c1"}) == Channel(id="c1")
    assert Bridge.from_json({"id": "b1"}) == Bridge(id="b1")
    assert Playback.from_json({"id": "p1"}) == Playback(id="p1")
    channel = Channel.from_json({"id": "c1", "caller": None, "dialplan": {"context": "x"}})
    assert channel.dialplan_context == "x"
    assert channel.caller_number == ""


def test_event_without_application_or_timestamp() -> None:
    event = parse_event({"type": "StasisEnd", "channel": {"id": "c1"}})
    assert isinstance(event, StasisEnd)
    assert (event.application, event.timestamp) == ("", "")


def test_events_are_immutable() -> None:
    event = parse_event(frame("StasisStart"))
    with pytest.raises(AttributeError):
        event.type = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": ""},
        {"type": 5},
        {"application": "cti-dev"},
        {"type": "StasisStart"},
        {"type": "StasisStart", "channel": None},
        {"type": "StasisStart", "channel": "c1"},
        {"type": "StasisStart", "channel": {"name": "no id"}},
        {"type": "StasisStart", "channel": {"id": "c1"}, "args": "inbound"},
        {"type": "StasisStart", "channel": {"id": "c1"}, "args": [1, 2]},
        {"type": "StasisStart", "channel": {"id": "c1", "caller": "Bob"}},
        {"type": "StasisStart", "channel": {"id": "c1", "state": 6}},
        {"type": "ChannelDestroyed", "channel": {"id": "c1"}, "cause": "16"},
        {"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "cause": True},
        {"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "soft": "yes"},
        {"type": "ChannelDtmfReceived", "channel": {"id": "c1"}},
        {"type": "ChannelEnteredBridge", "channel": {"id": "c1"}},
        {"type": "ChannelEnteredBridge", "bridge": {"id": "b1"}},
        {"type": "BridgeDestroyed", "bridge": {"id": "b1", "channels": "c1"}},
        {"type": "PlaybackStarted"},
        {"type": "PlaybackFinished", "playback": {"media_uri": "sound:beep"}},
        {"type": "Dial", "caller": {"id": "c1"}},
        {"type": "Dial", "peer": {"id": "c1"}, "caller": []},
    ],
)
def test_malformed_events_raise_protocol_error(data: dict[str, Any]) -> None:
    with pytest.raises(AriProtocolError):
        parse_event(data)


@pytest.mark.parametrize("data", [None, [], "StasisStart", 42])
def test_non_object_frames_raise_protocol_error(data: Any) -> None:
    with pytest.raises(AriProtocolError):
        parse_event(data)


def test_recording_events_share_the_recorded_channels_lane() -> None:
    # As Asterisk 22 sends them for POST /channels/{id}/record with maxSilenceSeconds (the survey's comment).
    base = {"timestamp": "2026-12-06T17:20:01.002+0000", "asterisk_id": "02:fc:00:00:00:01",
            "application": "cti-dev"}
    finished = parse_event({**base, "type": "RecordingFinished", "recording": {
        "name": "cti-ivr-1", "format": "wav", "target_uri": "channel:cap-ch-2", "state": "done",
        "duration": 7, "talking_duration": 4, "silence_duration": 3}})
    assert isinstance(finished, RecordingFinished)
    assert finished.recording == LiveRecording(name="cti-ivr-1", format="wav", state="done",
                                               target_uri="channel:cap-ch-2", duration=7, talking_duration=4)
    assert finished.key == "cap-ch-2"
    failed = parse_event({**base, "type": "RecordingFailed", "recording": {
        "name": "cti-ivr-2", "format": "wav", "target_uri": "channel:cap-ch-3", "state": "failed",
        "cause": "Recording failed"}})
    assert isinstance(failed, RecordingFailed)
    assert (failed.recording.talking_duration, failed.recording.cause, failed.key) == (
        0, "Recording failed", "cap-ch-3")
    with pytest.raises(AriProtocolError):
        parse_event({**base, "type": "RecordingFinished"})
