"""Supervisor actions on real calls: listen, whisper and barge ring the supervisor's own SIPp phone."""

from __future__ import annotations

import asyncio

import pytest

from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


async def supervisor_token(cti: Cti, name: str = "sue", scope: dict[str, list[str]] | None = None) -> str:
    created = await cti.api("POST", "/api/users", json={"name": name, "role": "supervisor"}, expect=201)
    if scope is not None:
        await cti.api("PUT", f"/api/users/{name}/scope", json=scope)
    token: str = created["token"]
    return token


@pytest.mark.parametrize(("mode", "spy", "whisper"), [("listen", True, False), ("whisper", True, True),
                                                       ("barge", False, False)])
async def test_supervisor_monitors_a_connected_call(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    mode: str, spy: bool, whisper: bool,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    start_phone(phones, base_settings, "7040", ring_ms=100)  # the supervisor's desk phone
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    token = await supervisor_token(cti)
    caller = SippCaller("1500100", caller="0215550123", duration_ms=6000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)

    monitor = await cti.api("POST", f"/api/calls/{call.call_id}/monitor", token=token,
                            json={"mode": mode, "extension": "7040"}, expect=201)
    assert (monitor["monitor_id"], monitor["mode"], monitor["supervisor"]) == (f"{call.call_id}-s1", mode, "sue")

    async def connected() -> bool:
        names = {c.id: c for c in await cti.ari.list_channels()}
        if f"{call.call_id}-s1" not in names or names[f"{call.call_id}-s1"].state != "Up":
            return False
        if mode == "barge":
            bridge = await cti.ari.get_bridge(f"cti-call-{call.call_id}")
            return f"{call.call_id}-s1" in bridge.channels
        bridges = {b.id: b for b in await cti.ari.list_bridges()}
        mon = bridges.get(f"cti-mon-{call.call_id}-1")
        return mon is not None and sorted(mon.channels) == sorted([f"{call.call_id}-s1", f"{call.call_id}-p1"])

    await eventually(connected, message=f"the supervisor's phone {mode} on the call")
    if spy:
        snoop = await cti.ari.get_channel(f"{call.call_id}-p1")
        assert snoop.name.startswith("Snoop/")
    assert cti.telephony.monitors.active[f"{call.call_id}-s1"].answered
    assert whisper == (cti.telephony.monitors.active[f"{call.call_id}-s1"].mode.value == "whisper")

    # The caller hangs up: the monitor goes with the call (the leak check after the test proves it).
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await eventually(lambda: not cti.telephony.monitors.active, message="the monitor to end with the call")


async def test_monitor_refusals(cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller],
                                base_settings: Settings) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    agent_token = (await cti.api("POST", "/api/users", json={"name": "ana-login", "role": "agent",
                                                              "agent_id": "ana"}, expect=201))["token"]
    outsider = await supervisor_token(cti, "otto", scope={"queues": ["sales"], "teams": []})
    staff = await supervisor_token(cti)
    caller = SippCaller("1500100", caller="0215550123", duration_ms=4000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    path = f"/api/calls/{call.call_id}/monitor"
    body = {"mode": "listen", "extension": "7040"}
    await cti.api("POST", path, token=agent_token, json=body, expect=403)
    refused = await cti.api("POST", path, token=outsider, json=body, expect=404)  # queue 'general' is not theirs
    assert refused == {"error": {"status": 404, "message": f"no call {call.call_id!r}"}}
    await cti.api("POST", "/api/calls/nope/monitor", token=staff, json=body, expect=404)
    await cti.api("POST", path, token=staff, json={"mode": "spy", "extension": "7040"}, expect=422)
    await cti.api("POST", path, token=staff, json={"mode": "listen", "extension": "9999"}, expect=422)
    await cti.api("DELETE", "/api/monitors/nope", token=staff, expect=404)
    assert await asyncio.to_thread(caller.wait, 20) == 0
