"""The voice actions' choices of what a caller hears, on a recording stand-in for ARI (the same paths play to
real SIPp callers in tests/e2e/test_routing.py and test_ivr.py); a leg hung up while its originate is under way."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from cti.acd import ConfirmCallback, DialExternal, Hangup, Outcome, Reject, WorkChanged, WorkItem, WorkState
from cti.ari import AriHTTPError, AriNotFound
from cti.telephony import Monitors, VoiceActions
from tests.unit.test_services import NOW, call, floor


class RecordingAri:
    def __init__(self) -> None:
        self.played: list[dict[str, Any]] = []
        self.answered: list[str] = []

    async def answer(self, channel_id: str) -> None:
        self.answered.append(channel_id)

    async def play(self, channel_id: str, media: Any, *, playback_id: str | None = None,
                   lang: str | None = None) -> None:
        self.played.append({"channel": channel_id, "media": media, "lang": lang})


class Prompts:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    async def media(self, text: str, language: str) -> str:
        self.said.append((text, language))
        return f"sound:cti-tts/{language}-{len(self.said)}"


async def play_to(language: str, prompts: Prompts | None, *, callback: bool = False) -> RecordingAri:
    """A caller whose language routing knows is told ``ss-noservice`` (rejected) or has a callback confirmed."""
    distributor, _ = floor()
    work = WorkItem("c1", "chan-c1", "+6221555", "1500100", "", distributor.clock())
    work.routing.language = language
    distributor.arrive(work)
    ari = RecordingAri()
    actions = VoiceActions(ari, distributor.query, None, Counter(), ring_timeout=15,  # type: ignore[arg-type]
                           callback_ring_timeout=30, prompts=prompts)
    if callback:
        actions.confirm_callback(ConfirmCallback("c1", "chan-c1", "auth-thankyou"), distributor)
    else:
        actions.reject(Reject("c1", "chan-c1", "ss-noservice"), distributor)
    await asyncio.gather(*actions._tasks)
    return ari


async def test_an_indonesian_caller_hears_the_closing_message_spoken_in_indonesian() -> None:
    prompts = Prompts()
    ari = await play_to("id", prompts)
    [(text, language)] = prompts.said
    assert language == "id" and "tidak tersedia" in text
    assert ari.answered == ["chan-c1"]
    assert ari.played == [{"channel": "chan-c1", "media": "sound:cti-tts/id-1", "lang": "id"}]


async def test_an_english_caller_hears_the_callback_confirmation_in_english() -> None:
    prompts = Prompts()
    ari = await play_to("en", prompts, callback=True)
    assert [language for _, language in prompts.said] == ["en"]
    assert ari.played == [{"channel": "chan-c1", "media": "sound:cti-tts/en-1", "lang": "en"}]


async def test_without_spoken_prompts_asterisk_plays_its_own_sound_file() -> None:
    ari = await play_to("id", None)
    assert ari.played == [{"channel": "chan-c1", "media": "sound:ss-noservice", "lang": None}]


class SlowOriginateAri:
    """Asterisk creating an originated channel only when the test lets its originate go on."""

    def __init__(self) -> None:
        self.go_on = asyncio.Event()
        self.channels: set[str] = set()
        self.hung_up: list[str] = []

    async def originate(self, endpoint: str, *, channel_id: str, **params: Any) -> None:
        await self.go_on.wait()
        self.channels.add(channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        if channel_id not in self.channels:
            raise AriNotFound(404, "DELETE", f"/channels/{channel_id}", "Channel not found")
        self.channels.remove(channel_id)
        self.hung_up.append(channel_id)


async def test_a_leg_hung_up_while_its_originate_is_under_way_is_hung_up_once_it_exists() -> None:
    # The agent hangs up (or cancels) within moments of consulting a number: the hang-up finds no channel yet.
    distributor, _ = floor()
    ari = SlowOriginateAri()
    actions = VoiceActions(ari, distributor.query, None, Counter(), ring_timeout=15,  # type: ignore[arg-type]
                           callback_ring_timeout=30)
    actions.dial_external(DialExternal("c1", "c1-t1", "0215550999", "1500100"), distributor)
    await asyncio.sleep(0)  # the originate is under way
    actions.hangup(Hangup("c1-t1", "c1"), distributor)
    await asyncio.sleep(0.01)
    assert ari.hung_up == []  # nothing to hang up yet
    ari.go_on.set()
    await actions.drain()
    assert ari.hung_up == ["c1-t1"] and ari.channels == set()  # the partner's phone does not ring for nothing
    # An originate nobody hung up meanwhile leaves its leg alone.
    actions.dial_external(DialExternal("c1", "c1-t2", "0215550999", "1500100"), distributor)
    await actions.drain()
    assert ari.channels == {"c1-t2"} and ari.hung_up == ["c1-t1"]


class BridgeAri:
    """Asterisk whose call bridges are gone already (a 404) or whose answer is an error of its own."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.destroyed: list[str] = []

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.destroyed.append(bridge_id)
        error = AriNotFound if self.status == 404 else AriHTTPError
        raise error(self.status, "DELETE", f"/bridges/{bridge_id}", "Bridge not found" if self.status == 404
                    else "Internal Server Error")


def ended_calls(ari: BridgeAri, n: int) -> VoiceActions:
    """``n`` answered calls ended, as the reconcile after a reconnect ends the calls Asterisk lost."""
    distributor, _ = floor()
    actions = VoiceActions(ari, distributor.query, Monitors(ari, ring_timeout=30),  # type: ignore[arg-type]
                           Counter(), ring_timeout=15, callback_ring_timeout=30)
    for i in range(n):
        item = replace(call(f"c{i}"), state=WorkState.ENDED, answered_at=NOW, ended_at=NOW,
                       outcome=Outcome.ANSWERED)
        actions.work_changed(WorkChanged(item), distributor)
    return actions


async def test_a_call_bridge_already_gone_at_the_calls_end_is_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    ari = BridgeAri(404)
    caplog.set_level(logging.DEBUG, logger="cti.telephony")
    await ended_calls(ari, 30).drain()
    assert ari.destroyed == [f"cti-call-c{i}" for i in range(30)]
    assert [r.levelno for r in caplog.records] == [logging.DEBUG] * 30
    assert caplog.records[0].getMessage() == "call c0: bridge already gone at its end"


async def test_a_call_bridge_asterisk_failed_to_destroy_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    ari = BridgeAri(500)
    caplog.set_level(logging.DEBUG, logger="cti.telephony")
    await ended_calls(ari, 1).drain()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "call c0: bridge not destroyed at its end: DELETE /bridges/cti-call-c0 -> 500: "
                          "Internal Server Error")]
