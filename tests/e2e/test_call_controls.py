"""The agent's controls of a live call through the real Asterisk: hold (the caller in a holding bridge with its
music) and resume, mute, tones that reach the caller's phone, hang-up from the API; hang-ups at each step leave
nothing behind (the ``cti`` fixture checks Asterisk has no channel or bridge left), and the hold is in the
interaction."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import expect

from cti.asterisk import AsteriskRoot
from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, bridge_members, start_phone, until_bridge
from tests.support import browser_page, eventually


def _moh_playing(asterisk: AsteriskRoot, bridge_id: str) -> bool:
    """Asterisk plays a bridge's music through an announcer channel of its own, which ARI does not list: the
    bridge holds one channel more than ARI shows."""
    listing = asterisk.cli("bridge show all")
    found = re.search(rf"^{re.escape(bridge_id)}\s.*?\s(\d+)\s+stasis\s", listing, re.MULTILINE)
    return found is not None and int(found.group(1)) == 2


async def test_hold_resume_mute_tones_and_hang_up_from_the_api(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    asterisk: AsteriskRoot,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)  # the agent's phone waits for the end
    token = await cti.create_agent("ana", "Ana")
    await cti.login("ana", "7001")
    caller = SippCaller("1500100", caller="0215550123", duration_ms=40_000, expect_tones="12#",
                        target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    call_bridge, hold_bridge = f"cti-call-{call.call_id}", "cti-hold-general"
    agent_leg = f"{call.call_id}-a1"
    await until_bridge(cti, call_bridge, lambda m: m == {call.channel_id, agent_leg}, "the call's bridge")

    async def control(action: str, expect: int = 200, **body: str) -> Any:
        return await cti.api("POST", f"/api/calls/{call.call_id}/{action}", token=token, expect=expect,
                       **({"json": body} if body else {}))

    # Nothing to resume yet, no tones but tones, no unmute before a mute.
    assert (await control("resume", 409))["error"]["message"] == f"call {call.call_id} is not on hold"
    await control("dtmf", 422, digits="12x")
    await control("unmute", 409)

    held = await control("hold")
    assert held["held"] is True and held["hold_count"] == 1 and held["held_since"]
    await control("hold", 409)
    await control("dtmf", 409, digits="1")  # tones to a caller on hold reach no one listening
    # The caller waits in the queue's holding bridge, with its music; the agent stays in the call's bridge, alone.
    await until_bridge(cti, hold_bridge, lambda m: call.channel_id in m, "the caller in the holding bridge")
    assert await bridge_members(cti, call_bridge) == {agent_leg}
    assert await asyncio.to_thread(_moh_playing, asterisk, hold_bridge), (
        await asyncio.to_thread(asterisk.cli, "bridge show all"))
    await asyncio.sleep(1.2)
    resumed = await control("resume")
    assert resumed["held"] is False and resumed["hold_seconds"] >= 1.2
    await until_bridge(cti, call_bridge, lambda m: m == {call.channel_id, agent_leg}, "the caller back with the agent")
    assert call.channel_id not in await bridge_members(cti, hold_bridge)

    assert (await control("mute"))["muted"] is True
    await control("mute", 409)
    assert (await control("unmute"))["muted"] is False

    await control("dtmf", digits="12#")
    # The caller's phone takes the three tones as SIP INFO, in order, then the hang-up; its scenario fails on
    # a missing or wrong tone. The tones take 0.6 s to play (100 ms each, 100 ms apart).
    await eventually(lambda: cti.telephony.counters["dtmf_sent"] == 1, message="the tones sent")
    await asyncio.sleep(1.5)
    ended = await control("hangup")
    assert ended["state"] == "ended"
    await control("hold", 404)  # the call is over
    assert await asyncio.to_thread(caller.wait, 20) == 0, caller.errors()[-2000:]
    await cti.settled()

    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.outcome, record.end_reason, record.agent_id) == ("answered", "agent_hangup", "ana")
    assert record.hold_count == 1 and 1.2 <= record.hold_seconds < 10
    agent = await cti.api("GET", "/api/agents/ana")
    assert agent["calls_handled"] == 1 and agent["call_id"] is None


async def test_caller_hanging_up_on_hold_leaves_nothing_and_keeps_the_hold_time(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7002", ring_ms=100)
    token = await cti.create_agent("budi")
    await cti.login("budi", "7002")
    caller = SippCaller("1500100", caller="0215550124", duration_ms=3000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await until_bridge(cti, f"cti-call-{call.call_id}", lambda m: len(m) == 2, "the call's bridge")
    await cti.api("POST", f"/api/calls/{call.call_id}/mute", token=token)
    await cti.api("POST", f"/api/calls/{call.call_id}/hold", token=token)
    assert await asyncio.to_thread(caller.wait, 20) == 0  # the caller hangs up while held
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.outcome, record.end_reason, record.hold_count) == ("answered", "caller_hangup", 1)
    assert 0 < record.hold_seconds < 3.5


async def test_agent_hanging_up_while_muted_and_on_hold_ends_the_call(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7003", ring_ms=100, talk_ms=2500)  # the agent's phone hangs up
    token = await cti.create_agent("citra")
    await cti.login("citra", "7003")
    caller = SippCaller("1500100", caller="0215550125", duration_ms=30_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await until_bridge(cti, f"cti-call-{call.call_id}", lambda m: len(m) == 2, "the call's bridge")
    await cti.api("POST", f"/api/calls/{call.call_id}/mute", token=token)
    await cti.api("POST", f"/api/calls/{call.call_id}/hold", token=token)
    assert await asyncio.to_thread(caller.wait, 20) == 0  # cti hangs the held caller up
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.outcome, record.end_reason, record.hold_count) == ("answered", "agent_hangup", 1)
    assert 0 < record.hold_seconds < 2.5


async def test_desktop_shows_each_control_when_it_makes_sense_and_the_hold_across_a_reload(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7004", ring_ms=200)
    token = await cti.create_agent("dewi", "Dewi")
    await cti.speaks("en", token)
    await cti.login("dewi", "7004")
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await expect(page.locator("#link")).to_have_text("connected")
        for hidden in ("#call-controls", "#dtmf", "#hold-info"):  # no call, no controls
            await expect(page.locator(hidden)).to_be_hidden()
        caller = SippCaller("1500100", caller="0215550126", duration_ms=40_000, target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#call-state")).to_have_text("connected", timeout=15000)
        call = await cti.first_call()
        await expect(page.locator("#hold")).to_be_visible()
        await expect(page.locator("#mute")).to_be_visible()
        await expect(page.locator("#hangup")).to_be_visible()
        await expect(page.locator("#dtmf")).to_be_visible()
        for hidden in ("#resume", "#unmute", "#hold-info", "#mute-info"):
            await expect(page.locator(hidden)).to_be_hidden()

        await page.keyboard.press("Alt+H")  # hold, by its shortcut
        await expect(page.locator("#hold-info")).to_have_text(re.compile(r"^On hold 00:0\d$"))
        await expect(page.locator("#resume")).to_be_visible()
        await expect(page.locator("#hold")).to_be_hidden()
        await expect(page.locator("#dtmf")).to_be_hidden()  # no tones to a caller on hold
        await until_bridge(cti, "cti-hold-general", lambda m: call.channel_id in m, "the caller in the holding bridge")
        await asyncio.sleep(2)
        # A reload restores the present: still on hold, the timer counting from the hold's start.
        await page.reload()
        await expect(page.locator("#hold-info")).to_have_text(re.compile(r"^On hold 00:0[2-9]$"), timeout=10000)
        await expect(page.locator("#resume")).to_be_visible()
        await page.click("#mute")
        await expect(page.locator("#mute-info")).to_be_visible()
        await expect(page.locator("#unmute")).to_be_visible()
        await page.click("#resume")
        await expect(page.locator("#hold-info")).to_be_hidden()
        await expect(page.locator("#hold")).to_be_visible()
        await page.fill("#dtmf-digits", "12x")
        await page.click("#dtmf-send")
        await expect(page.locator("#error")).to_have_text("Tones are 1 to 32 of 0-9, *, #, A-D.")
        await page.keyboard.press("Alt+X")  # hang up, by its shortcut
        await page.wait_for_selector("#wrapup:not([hidden])", timeout=15000)
        await expect(page.locator("#call-controls")).to_be_hidden()
        assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.end_reason, record.hold_count) == ("agent_hangup", 1) and record.hold_seconds >= 2


async def test_a_caller_waiting_after_the_holding_bridge_emptied_hears_its_music(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    asterisk: AsteriskRoot,
) -> None:
    hold_bridge = "cti-hold-general"
    start_phone(phones, base_settings, "7004", ring_ms=100)
    await cti.create_agent("dewi")
    first = SippCaller("1500100", caller="0215550126", duration_ms=8000, target=cti.settings.sip_bind)
    callers.append(first)
    call = await cti.first_call()
    await until_bridge(cti, hold_bridge, lambda m: call.channel_id in m, "the first caller waiting")
    assert await asyncio.to_thread(_moh_playing, asterisk, hold_bridge)
    await cti.login("dewi", "7004")  # the first caller is answered: the holding bridge empties
    await cti.answered(call.call_id)
    await until_bridge(cti, hold_bridge, lambda m: not m, "the holding bridge empty")
    second = SippCaller("1500100", caller="0215550127", duration_ms=3000,
                        target=cti.settings.sip_bind)  # dewi is busy: this one waits
    callers.append(second)
    await until_bridge(cti, hold_bridge, lambda m: len(m) == 1, "the second caller waiting")
    assert await asyncio.to_thread(_moh_playing, asterisk, hold_bridge), (
        await asyncio.to_thread(asterisk.cli, "bridge show all"))
    assert await asyncio.to_thread(second.wait, 20) == 0
    assert await asyncio.to_thread(first.wait, 20) == 0
    await cti.settled()
