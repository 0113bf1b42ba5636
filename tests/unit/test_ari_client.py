"""AriClient helpers: the exact REST calls they make, with the transport replaced by a recorder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cti.ari import AriClient, AriError, AriNotLeading, AriProtocolError, Bridge, Channel, Playback
from cti.ari._client import ParamValue, normalize_base_url
from cti.ari._events_stream import events_url

Call = tuple[str, str, dict[str, Any], Any]


class RecordingClient(AriClient):
    def __init__(self, responses: list[Any] | None = None) -> None:
        super().__init__("http://127.0.0.1:8088", "cti", "secret", "cti-dev")
        self.calls: list[Call] = []
        self.responses = list(responses or [])

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
    ) -> Any:
        # Drop None like the real request does, so assertions show what goes on the wire.
        sent = {k: v for k, v in (params or {}).items() if v is not None}
        self.calls.append((method, path, sent, json))
        return self.responses.pop(0) if self.responses else None


CHANNEL = {"id": "c1", "name": "PJSIP/7001-00000001", "state": "Down", "caller": {"name": "", "number": ""}}
BRIDGE = {"id": "b1", "technology": "simple_bridge", "bridge_type": "mixing", "channels": []}


async def test_originate_sends_ari_parameter_names_and_variables_in_body() -> None:
    client = RecordingClient([CHANNEL])
    channel = await client.originate(
        "PJSIP/7001",
        app_args="agent,q1",
        channel_id="c1",
        caller_id='"Queue" <1500100>',
        timeout=15,
        originator="in-1",
        variables={"CTI_CALL": "call-9"},
        other_channel_id="c1-2",
    )
    assert channel == Channel.from_json(CHANNEL)
    assert client.calls == [
        (
            "POST",
            "/channels",
            {
                "endpoint": "PJSIP/7001",
                "app": "cti-dev",
                "appArgs": "agent,q1",
                "channelId": "c1",
                "callerId": '"Queue" <1500100>',
                "timeout": 15,
                "originator": "in-1",
                "otherChannelId": "c1-2",
            },
            {"variables": {"CTI_CALL": "call-9"}},
        )
    ]


async def test_originate_minimal() -> None:
    client = RecordingClient([CHANNEL])
    await client.originate("PJSIP/7001", app_args="")
    assert client.calls == [
        (
            "POST",
            "/channels",
            {"endpoint": "PJSIP/7001", "app": "cti-dev", "appArgs": "", "timeout": 30},
            None,
        ),
    ]


async def test_channel_helpers_quote_ids() -> None:
    client = RecordingClient()
    await client.answer("Local/1@x;1")
    await client.ring("c;2")
    await client.hangup("c1")
    await client.hangup("c1", reason="busy")
    await client.hangup_with_cause("c1", 34)
    await client.start_moh("c1")
    await client.start_moh("c1", "default")
    await client.stop_moh("c1")
    await client.set_variable("c1", "CTI_X", "1")
    assert [(m, p, q) for m, p, q, _ in client.calls] == [
        ("POST", "/channels/Local%2F1%40x%3B1/answer", {}),
        ("POST", "/channels/c%3B2/ring", {}),
        ("DELETE", "/channels/c1", {"reason": "normal"}),
        ("DELETE", "/channels/c1", {"reason": "busy"}),
        ("DELETE", "/channels/c1", {"reason_code": 34}),
        ("POST", "/channels/c1/moh", {}),
        ("POST", "/channels/c1/moh", {"mohClass": "default"}),
        ("DELETE", "/channels/c1/moh", {}),
        ("POST", "/channels/c1/variable", {"variable": "CTI_X", "value": "1"}),
    ]


async def test_get_variable() -> None:
    client = RecordingClient([{"value": "bar"}, {"nope": 1}])
    assert await client.get_variable("c1", "FOO") == "bar"
    assert client.calls[0][:3] == ("GET", "/channels/c1/variable", {"variable": "FOO"})
    with pytest.raises(AriProtocolError):
        await client.get_variable("c1", "FOO")


async def test_lists_and_gets_parse_models() -> None:
    client = RecordingClient([[CHANNEL], CHANNEL, [BRIDGE], BRIDGE, {"system": {"version": "22.10.1"}}])
    assert await client.list_channels() == [Channel.from_json(CHANNEL)]
    assert (await client.get_channel("c1")).id == "c1"
    assert await client.list_bridges() == [Bridge.from_json(BRIDGE)]
    assert (await client.get_bridge("b1")).bridge_type == "mixing"
    assert (await client.asterisk_info())["system"]["version"] == "22.10.1"
    assert [p for _, p, _, _ in client.calls] == [
        "/channels", "/channels/c1", "/bridges", "/bridges/b1", "/asterisk/info"
    ]


async def test_unexpected_shapes_raise_protocol_error() -> None:
    client = RecordingClient([{"not": "a list"}, None, [{"name": "no id"}]])
    with pytest.raises(AriProtocolError):
        await client.list_channels()
    with pytest.raises(AriProtocolError):
        await client.get_channel("c1")
    with pytest.raises(AriProtocolError):
        await client.list_bridges()


async def test_bridge_helpers() -> None:
    client = RecordingClient([BRIDGE, BRIDGE])
    await client.create_bridge()
    await client.create_bridge("holding", bridge_id="hold-1", name="queue q1")
    await client.add_channel("b1", "c1")
    await client.add_channel("b1", ["c1", "c2"], role="agent")
    await client.remove_channel("b1", "c1")
    await client.start_bridge_moh("b1", "default")
    await client.stop_bridge_moh("b1")
    await client.destroy_bridge("b1")
    assert [(m, p, q) for m, p, q, _ in client.calls] == [
        ("POST", "/bridges", {"type": "mixing"}),
        ("POST", "/bridges/hold-1", {"type": "holding", "name": "queue q1"}),
        ("POST", "/bridges/b1/addChannel", {"channel": "c1"}),
        ("POST", "/bridges/b1/addChannel", {"channel": ["c1", "c2"], "role": "agent"}),
        ("POST", "/bridges/b1/removeChannel", {"channel": "c1"}),
        ("POST", "/bridges/b1/moh", {"mohClass": "default"}),
        ("DELETE", "/bridges/b1/moh", {}),
        ("DELETE", "/bridges/b1", {}),
    ]


async def test_play_and_stop() -> None:
    pb = {"id": "pb1", "media_uri": "sound:beep", "target_uri": "channel:c1", "state": "queued"}
    client = RecordingClient([pb, pb])
    playback = await client.play("c1", "sound:beep", playback_id="pb1", lang="en")
    assert playback == Playback(id="pb1", media_uri="sound:beep", state="queued", target_uri="channel:c1")
    await client.play("c1", ["sound:a", "sound:b"])
    await client.stop_playback("pb1")
    assert [(m, p, q) for m, p, q, _ in client.calls] == [
        ("POST", "/channels/c1/play", {"media": "sound:beep", "playbackId": "pb1", "lang": "en"}),
        ("POST", "/channels/c1/play", {"media": ["sound:a", "sound:b"]}),
        ("DELETE", "/playbacks/pb1", {}),
    ]


async def test_subscriptions() -> None:
    client = RecordingClient()
    await client.subscribe("bridge:b1")
    await client.unsubscribe(["bridge:b1", "channel:c1"])
    assert [(m, p, q) for m, p, q, _ in client.calls] == [
        ("POST", "/applications/cti-dev/subscription", {"eventSource": "bridge:b1"}),
        ("DELETE", "/applications/cti-dev/subscription", {"eventSource": ["bridge:b1", "channel:c1"]}),
    ]


async def test_the_event_filter_allows_the_types_named_and_never_none() -> None:
    client = RecordingClient()
    await client.allow_events(["StasisStart", "StasisEnd"])
    assert client.calls == [("PUT", "/applications/cti-dev/eventFilter", {},
                             {"allowed": [{"type": "StasisStart"}, {"type": "StasisEnd"}], "disallowed": []})]
    with pytest.raises(ValueError, match="would allow every event"):  # ARI's rule for an empty list
        await client.allow_events([])
    assert len(client.calls) == 1


def test_query_encoding() -> None:
    from cti.ari._client import _query

    assert _query({"a": None, "b": True, "c": False, "d": 5, "e": "x", "f": ["m1", "m2"], "g": ("y",)}) == {
        "b": "true",
        "c": "false",
        "d": "5",
        "e": "x",
        "f": "m1,m2",
        "g": "y",
    }


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8088", "http://127.0.0.1:8088/", "http://127.0.0.1:8088/ari", "http://127.0.0.1:8088/ari/"]
)
def test_base_url_normalisation(base: str) -> None:
    assert normalize_base_url(base) == "http://127.0.0.1:8088"
    assert str(events_url(base, "cti")) == "ws://127.0.0.1:8088/ari/events?app=cti&subscribeAll=false"


def test_events_url_https_and_prefix() -> None:
    url = events_url("https://pbx.example:8089/asterisk", "cti dev")
    assert url.scheme == "wss"
    assert url.path == "/asterisk/ari/events"
    assert url.query["app"] == "cti dev"


async def test_request_before_start_is_an_error() -> None:
    client = AriClient("http://127.0.0.1:8088", "cti", "secret", "cti-dev")
    with pytest.raises(AriError):
        await client.request("GET", "/channels")


async def test_snoop_and_external_media_send_ari_parameter_names() -> None:
    client = RecordingClient([CHANNEL, CHANNEL])
    await client.snoop("c1-a1", app_args="snoop,m1", snoop_id="c1-p1", spy="both", whisper="out")
    await client.external_media(channel_id="c1-e1", external_host="127.0.0.1:40000")
    assert client.calls == [
        ("POST", "/channels/c1-a1/snoop",
         {"spy": "both", "whisper": "out", "app": "cti-dev", "appArgs": "snoop,m1", "snoopId": "c1-p1"}, None),
        ("POST", "/channels/externalMedia",
         {"app": "cti-dev", "external_host": "127.0.0.1:40000", "format": "slin16", "channelId": "c1-e1"}, None),
    ]


async def test_a_controller_that_does_not_lead_sends_asterisk_nothing() -> None:
    # Nothing listens on the port: a request that were sent would fail to connect instead.
    leading = [False]
    client = AriClient("http://127.0.0.1:9", "cti", "secret", "cti", may_act=lambda: leading[0])
    async with client:
        with pytest.raises(AriNotLeading, match=r"^DELETE /bridges/b1: not sent, this controller does not lead$"):
            await client.destroy_bridge("b1")
        leading[0] = True
        with pytest.raises(AriError) as failed:
            await client.destroy_bridge("b1")
        assert not isinstance(failed.value, AriNotLeading)  # sent, and refused by the network
