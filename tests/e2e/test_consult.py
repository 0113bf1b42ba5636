"""Consult (attended) transfer and three-way conference through the real Asterisk: the caller holds in the
queue's holding bridge while the agent talks with the party consulted in the call's bridge; complete, cancel,
conference and each party leaving; hang-ups and a target that does not answer; an external number handed the
call. Bridge members are checked at each step, the legs land in the interaction, and the ``cti`` fixture
checks nothing is left in Asterisk."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from cti.persistence import InteractionRepository
from cti.records import InteractionRecord
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, bridge_members, start_phone, until_bridge
from tests.support import browser_page, eventually

PARTNER = "0215550999"


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    return {"consult_numbers": (r"0215550\d{3}",)}



async def _agent_state(cti: Cti, agent_id: str) -> str:
    return str((await cti.api("GET", f"/api/agents/{agent_id}"))["state"])


async def _record(cti: Cti, call_id: str) -> InteractionRecord:
    record = await InteractionRepository(cti.db).get(call_id)
    assert record is not None
    return record


def _legs(record: InteractionRecord) -> list[tuple[str, str, str]]:
    assert all(leg["seconds"] is not None and leg["seconds"] >= 0 for leg in record.legs or ())
    return [(leg["participant"], leg["kind"], leg["role"]) for leg in record.legs or ()]


async def test_consult_an_agent_then_complete_on_the_desktops(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7011", ring_ms=200)
    start_phone(phones, base_settings, "7012", ring_ms=200)
    ana = await cti.create_agent("ana", "Ana")
    budi = await cti.create_agent("budi", "Budi")
    await cti.speaks("en", ana, budi)
    await cti.login("ana", "7011")
    async with browser_page() as page:
        assert page.context.browser is not None
        other = await page.context.browser.new_page()  # budi's desktop, beside ana's
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={ana}")
        await other.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={budi}")
        await expect(page.locator("#link")).to_have_text("connected")
        await expect(other.locator("#link")).to_have_text("connected")
        caller = SippCaller("1500100", caller="0215550131", duration_ms=40_000, target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#call-state")).to_have_text("connected", timeout=15000)
        call = await cti.first_call()
        await cti.login("budi", "7012")  # ready only now: the caller went to ana
        call_bridge, caller_leg = f"cti-call-{call.call_id}", call.channel_id
        ana_leg, budi_leg = f"{call.call_id}-a1", f"{call.call_id}-t1"
        for hidden in ("#consult-controls", "#consult-info"):
            await expect(page.locator(hidden)).to_be_hidden()

        await page.keyboard.press("Alt+O")  # to the consult form, by its shortcut
        await page.select_option("#consult-kind", "agent")
        await page.fill("#consult-target", "budi")
        await page.fill("#consult-note", "wants a refund")
        await page.click("#consult-go")
        await expect(page.locator("#consult-info")).to_have_text("Consulting budi. The caller is on hold.",
                                                                 timeout=10000)
        for shown in ("#consult-complete", "#consult-conference", "#consult-cancel"):
            await expect(page.locator(shown)).to_be_visible()
        for hidden in ("#hold", "#resume", "#transfer", "#consult", "#conference-leave"):
            await expect(page.locator(hidden)).to_be_hidden()
        # The caller holds with the music; ana and budi talk in the call's bridge.
        await until_bridge(cti, "cti-hold-general", lambda m: caller_leg in m, "the caller on hold")
        await until_bridge(cti, call_bridge, lambda m: m == {ana_leg, budi_leg}, "ana and budi in the call's bridge")
        # budi's desktop pops the caller with ana's note; the call is not budi's to control yet.
        await expect(other.locator("#transfer-info")).to_have_text("ana consults you: wants a refund")
        await expect(other.locator("#call-controls")).to_be_hidden()
        assert await _agent_state(cti, "budi") == "on_call"

        await page.keyboard.press("Alt+T")  # complete the transfer
        await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, budi_leg}, "the caller with budi")
        await page.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        await expect(page.locator("#call-controls")).to_be_hidden()
        await expect(other.locator("#call-controls")).to_be_visible()
        assert caller_leg not in await bridge_members(cti, "cti-hold-general")
        assert await _agent_state(cti, "ana") == "wrap_up"
        live = cti.query.call(call.call_id)
        assert (live.agent_id, live.held, live.consult) == ("budi", False, None)
        await cti.api("POST", f"/api/calls/{call.call_id}/hold", token=ana, expect=404)  # no longer ana's
        await other.click("#hangup")  # budi ends the call
        assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason, record.hold_count) == (
        "budi", "answered", "agent_hangup", 1)
    assert _legs(record) == [("ana", "agent", "answered"), ("budi", "agent", "consult")]
    assert record.routing is not None
    kinds = [d["kind"] for d in record.routing["decisions"]]
    assert kinds[-2:] == ["consulted", "consult_completed"]
    assert record.routing["decisions"][-2]["note"] == "wants a refund"


async def test_consult_cancel_then_a_queue_in_conference_and_each_leaving(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7013", ring_ms=100)
    start_phone(phones, base_settings, "7014", ring_ms=100)
    start_phone(phones, base_settings, "7015", ring_ms=100, talk_ms=5000)  # carla hangs up 5 s after answering
    ana = await cti.create_agent("ana")
    await cti.create_agent("budi")
    await cti.create_agent("carla")
    await cti.login("ana", "7013")
    caller = SippCaller("1500100", caller="0215550132", duration_ms=60_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await cti.login("carla", "7015")
    await cti.login("budi", "7014")
    call_bridge, caller_leg, ana_leg = f"cti-call-{call.call_id}", call.channel_id, f"{call.call_id}-a1"
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, ana_leg}, "the call's bridge")

    async def step(path: str, expect: int = 200, **body: str) -> Any:
        return await cti.api("POST", f"/api/calls/{call.call_id}/{path}", token=ana, expect=expect,
                             **({"json": body} if body else {}))

    def code(answer: Any) -> str:
        return str(answer["error"]["code"])

    assert code(await step("consult/complete", 409)) == "no_consult"
    assert code(await step("consult/conference", 409)) == "no_consult"
    assert code(await step("conference/leave", 409)) == "not_in_conference"
    assert code(await step("consult", 422, agent_id="budi", queue="general")) == "consult_target"
    assert code(await step("consult", 422, number="0811111111")) == "number_not_allowed"

    # Consult budi, then cancel: budi's leg goes, the caller is back with ana.
    consulting = await step("consult", agent_id="budi")
    assert consulting["consult"]["state"] == "ringing" and consulting["held"] is True
    assert code(await step("consult", 409, agent_id="carla")) == "consult_in_progress"
    await until_bridge(cti, call_bridge, lambda m: m == {ana_leg, f"{call.call_id}-t1"}, "budi answered")
    assert code(await step("hold", 409)) == "consult_in_progress"
    cancelled = await step("consult/cancel")
    assert cancelled["consult"] is None and cancelled["held"] is False
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, ana_leg}, "the caller back with ana")
    await eventually(lambda: cti.query.agent("budi").state.value == "ready", message="budi ready again")

    # Consult the queue: carla has been idle longest. A conference, then carla hangs up: ana and the caller go on.
    consulting = await step("consult", queue="general", note="three-way")
    assert consulting["consult"]["target"] == "carla"
    carla_leg = f"{call.call_id}-t2"
    await until_bridge(cti, call_bridge, lambda m: m == {ana_leg, carla_leg}, "carla answered")
    conference = await step("consult/conference")
    assert conference["consult"]["state"] == "conference" and conference["held"] is False
    assert code(await step("consult/conference", 409)) == "already_conference"
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, ana_leg, carla_leg}, "three in the bridge")
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, ana_leg}, "carla left the conference")
    await eventually(lambda: cti.query.call(call.call_id).consult is None, message="the consult over")

    # budi in a conference again, and this time ana leaves it: budi owns the call.
    await step("consult", agent_id="budi")
    budi_leg = f"{call.call_id}-t3"
    await until_bridge(cti, call_bridge, lambda m: m == {ana_leg, budi_leg}, "budi answered")
    await step("consult/conference")
    await until_bridge(cti, call_bridge, lambda m: len(m) == 3, "three in the bridge")
    left = await step("conference/leave")
    assert left["agent_id"] == "budi"
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, budi_leg}, "the caller with budi")
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=cti.agent_tokens["budi"])
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.end_reason, record.hold_count) == ("budi", "agent_hangup", 3)
    assert _legs(record) == [("ana", "agent", "answered"), ("budi", "agent", "consult"),
                             ("carla", "queue", "consult"), ("budi", "agent", "consult")]
    assert await _agent_state(cti, "carla") == "ready"


async def test_a_target_not_answering_then_the_caller_hanging_up_mid_consult(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7016", ring_ms=100)
    start_phone(phones, base_settings, "7017", answer=False)  # dewi's phone rings out (4 s)
    start_phone(phones, base_settings, "7018", ring_ms=100)
    ana = await cti.create_agent("ana")
    await cti.create_agent("dewi")
    await cti.create_agent("budi")
    await cti.login("ana", "7016")
    caller = SippCaller("1500100", caller="0215550133", duration_ms=12_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await cti.login("dewi", "7017")
    await cti.login("budi", "7018")
    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"agent_id": "dewi"})
    await eventually(lambda: cti.query.call(call.call_id).consult is None, timeout=10,
                     message="dewi's phone to ring out")
    dewi = cti.query.agent("dewi")
    assert (dewi.state.value, dewi.reason) == ("not_ready", "no_answer")
    assert cti.query.call(call.call_id).held  # still on hold, for ana to resume or consult again
    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"agent_id": "budi"})
    await until_bridge(cti, f"cti-call-{call.call_id}", lambda m: len(m) == 2, "budi answered")
    assert await asyncio.to_thread(caller.wait, 20) == 0  # the caller hangs up while ana consults budi
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason) == ("ana", "answered", "caller_hangup")
    assert _legs(record) == [("ana", "agent", "answered"), ("budi", "agent", "consult")]
    assert record.routing is not None
    assert [d["kind"] for d in record.routing["decisions"] if d["kind"].startswith("consult")] == [
        "consulted", "consult_failed", "consulted", "consult_ended"]
    assert await _agent_state(cti, "budi") == "ready"
    assert await _agent_state(cti, "ana") in ("wrap_up", "ready")


async def test_an_external_party_consulted_and_handed_the_call(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7019", ring_ms=100)
    gateway_host, gateway_port = base_settings.pstn_gateway.split(":")
    # The partner's phone, reached through the PSTN gateway: it hangs up 4 s after answering.
    phones["partner"] = SippAgent(int(gateway_port), ring_ms=200, talk_ms=4000, host=gateway_host)
    ana = await cti.create_agent("ana")
    await cti.login("ana", "7019")
    caller = SippCaller("1500100", caller="0215550134", duration_ms=30_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    partner_leg, call_bridge = f"{call.call_id}-t1", f"cti-call-{call.call_id}"
    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"number": PARTNER})
    await until_bridge(cti, call_bridge, lambda m: partner_leg in m, "the partner answered")
    done = await cti.api("POST", f"/api/calls/{call.call_id}/consult/complete", token=ana)
    assert done["state"] == "ended"
    # cti let go: the caller and the partner talk until the partner hangs up; then the caller is hung up too.
    await until_bridge(cti, call_bridge, lambda m: m == {call.channel_id, partner_leg}, "the caller with the partner")
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await until_bridge(cti, call_bridge, lambda m: not m, "the handed-off bridge gone")
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason) == ("ana", "answered", "transferred_out")
    assert _legs(record) == [("ana", "agent", "answered"), (PARTNER, "external", "consult")]
    assert cti.telephony.counters["calls_handed_off"] == 1


def _consult(cti: Cti, call_id: str) -> tuple[str, str] | None:
    consult = cti.query.call(call_id).consult
    return None if consult is None else (consult.target, consult.state)


async def _channel_up(cti: Cti, channel_id: str) -> bool:
    return channel_id in {channel.id for channel in await cti.ari.list_channels()}


async def test_the_agent_hanging_up_while_the_party_consulted_rings(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7020", ring_ms=100)
    start_phone(phones, base_settings, "7021", answer=False)  # budi's phone rings until cancelled (or 4 s)
    ana = await cti.create_agent("ana")
    await cti.create_agent("budi")
    await cti.login("ana", "7020")
    caller = SippCaller("1500100", caller="0215550135", duration_ms=60_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await cti.login("budi", "7021")
    budi_leg = f"{call.call_id}-t1"
    consulting = await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"agent_id": "budi"})
    assert consulting["consult"]["state"] == "ringing"
    await eventually(lambda: _channel_up(cti, budi_leg), message="budi's phone ringing")
    await cti.ari.hangup(f"{call.call_id}-a1")  # ana's phone hangs up: the call ends, budi's leg with it
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    assert not await _channel_up(cti, budi_leg)
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason) == ("ana", "answered", "agent_hangup")
    assert _legs(record) == [("ana", "agent", "answered")]
    assert record.routing is not None
    assert [d["kind"] for d in record.routing["decisions"] if d["kind"].startswith("consult")] == [
        "consulted", "consult_ended"]
    assert await _agent_state(cti, "budi") == "ready"  # rung for nothing, not at fault
    assert await _agent_state(cti, "ana") in ("wrap_up", "ready")


async def test_the_agent_hanging_up_after_the_party_consulted_answered_completes_the_transfer(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7022", ring_ms=100)
    start_phone(phones, base_settings, "7023", ring_ms=100)
    ana = await cti.create_agent("ana")
    budi = await cti.create_agent("budi")
    await cti.login("ana", "7022")
    caller = SippCaller("1500100", caller="0215550136", duration_ms=60_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    await cti.login("budi", "7023")
    call_bridge, caller_leg = f"cti-call-{call.call_id}", call.channel_id
    ana_leg, budi_leg = f"{call.call_id}-a1", f"{call.call_id}-t1"
    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"agent_id": "budi"})
    await until_bridge(cti, call_bridge, lambda m: m == {ana_leg, budi_leg}, "budi answered")
    await cti.ari.hangup(ana_leg)  # ana's phone hangs up while she talks with budi: budi gets the caller
    await until_bridge(cti, call_bridge, lambda m: m == {caller_leg, budi_leg}, "the caller with budi")
    await eventually(lambda: cti.query.call(call.call_id).agent_id == "budi", message="budi owning the call")
    live = cti.query.call(call.call_id)
    assert (live.held, live.consult, live.agent_channel_id) == (False, None, budi_leg)
    assert caller_leg not in await bridge_members(cti, "cti-hold-general")
    assert await _agent_state(cti, "ana") in ("wrap_up", "ready")  # handled; no desktop, no wrap-up time here
    assert cti.query.agent("ana").calls_handled == 1
    assert await _agent_state(cti, "budi") == "on_call"
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=budi)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason, record.hold_count) == (
        "budi", "answered", "agent_hangup", 1)
    assert _legs(record) == [("ana", "agent", "answered"), ("budi", "agent", "consult")]
    assert record.routing is not None
    assert [d["kind"] for d in record.routing["decisions"] if d["kind"].startswith("consult")] == [
        "consulted", "consult_completed"]


async def test_tones_during_a_consult_reach_the_party_consulted(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7024", ring_ms=100)
    gateway_host, gateway_port = base_settings.pstn_gateway.split(":")
    # The partner's IVR, reached through the PSTN gateway: it takes 12# as SIP INFO, in order, then hangs up.
    partner = SippAgent(int(gateway_port), ring_ms=100, talk_ms=100, host=gateway_host, expect_tones="12#")
    phones["partner"] = partner
    ana = await cti.create_agent("ana")
    await cti.login("ana", "7024")
    caller = SippCaller("1500100", caller="0215550137", duration_ms=60_000,
                        target=cti.settings.sip_bind)  # takes no tones: it would fail
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    partner_leg, call_bridge = f"{call.call_id}-t1", f"cti-call-{call.call_id}"

    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"number": PARTNER})
    await until_bridge(cti, call_bridge, lambda m: partner_leg in m, "the partner answered")
    await cti.api("POST", f"/api/calls/{call.call_id}/dtmf", token=ana, json={"digits": "12#"})
    assert await asyncio.to_thread(partner.wait, 20) == 0, partner.errors()[-2000:]  # each tone, in order
    await eventually(lambda: cti.query.call(call.call_id).consult is None, message="the partner's hang-up")
    assert cti.query.call(call.call_id).held  # the caller waits on hold for ana
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=ana)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason) == ("ana", "answered", "agent_hangup")
    assert _legs(record) == [("ana", "agent", "answered"), (PARTNER, "external", "consult")]


async def test_an_external_consult_and_the_call_handed_over_survive_restarts(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7025", ring_ms=100)
    gateway_host, gateway_port = base_settings.pstn_gateway.split(":")
    phones["partner"] = SippAgent(int(gateway_port), ring_ms=100, host=gateway_host)  # talks until hung up
    ana = await cti.create_agent("ana")
    await cti.login("ana", "7025")
    caller = SippCaller("1500100", caller="0215550138", duration_ms=60_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    partner_leg, call_bridge = f"{call.call_id}-t1", f"cti-call-{call.call_id}"
    await cti.api("POST", f"/api/calls/{call.call_id}/consult", token=ana, json={"number": PARTNER})
    await until_bridge(cti, call_bridge, lambda m: partner_leg in m, "the partner answered")
    await eventually(lambda: _consult(cti, call.call_id) == (PARTNER, "talking"), message="the answer noted")
    await cti.restart()  # mid-consult: the new controller has the consult from the live store
    assert _consult(cti, call.call_id) == (PARTNER, "talking")
    await cti.api("POST", f"/api/calls/{call.call_id}/consult/complete", token=ana)
    await until_bridge(cti, call_bridge, lambda m: m == {call.channel_id, partner_leg}, "the caller with the partner")
    await cti.settled()
    await cti.restart()  # the new controller finds the bridge of a call it does not know, with two parties
    await eventually(lambda: cti.telephony.actions.handed_off(partner_leg), message="the hand-off taken back")
    assert await bridge_members(cti, call_bridge) == {call.channel_id, partner_leg}
    await cti.ari.hangup(partner_leg)  # the partner hangs up: the caller and the bridge go
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await until_bridge(cti, call_bridge, lambda m: not m, "the handed-off bridge gone")
    assert not cti.telephony.actions.handed_off(call.channel_id)
    record = await _record(cti, call.call_id)
    assert (record.agent_id, record.outcome, record.end_reason) == ("ana", "answered", "transferred_out")
