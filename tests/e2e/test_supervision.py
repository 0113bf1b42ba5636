"""Supervisor actions on real calls: listen, whisper and barge ring the supervisor's own SIPp phone."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, monitor_connected, start_phone
from tests.support import browser_page, eventually


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
    start_phone(phones, base_settings, "7040", ring_ms=100, trace=True)  # the supervisor's desk phone
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    token = await supervisor_token(cti)
    # Longer than the test however slow the machine: the test hangs the caller's line up when it is done.
    caller = SippCaller("1500100", caller="0215550123", duration_ms=120_000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)

    monitor = await cti.api("POST", f"/api/calls/{call.call_id}/monitor", token=token,
                            json={"mode": mode, "extension": "7040"}, expect=201)
    assert (monitor["monitor_id"], monitor["mode"], monitor["supervisor"]) == (f"{call.call_id}-s1", mode, "sue")

    await eventually(lambda: monitor_connected(cti, f"{call.call_id}-s1", phones["7040"], barge=mode == "barge"),
                     message=f"the supervisor's phone {mode} on the call")
    if spy:
        snoop = await cti.ari.get_channel(f"{call.call_id}-p1")
        assert snoop.name.startswith("Snoop/")
    assert cti.telephony.monitors.active[f"{call.call_id}-s1"].answered
    assert whisper == (cti.telephony.monitors.active[f"{call.call_id}-s1"].mode.value == "whisper")

    listed = await cti.api("GET", "/api/monitors", token=token)
    assert [(m["monitor_id"], m["call_id"], m["mode"], m["answered"]) for m in listed["monitors"]] == [
        (f"{call.call_id}-s1", call.call_id, mode, True)]

    # The caller's line drops: the monitor goes with the call (the leak check after the test proves it).
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await eventually(lambda: not cti.telephony.monitors.active, message="the monitor to end with the call")
    assert await cti.api("GET", "/api/monitors", token=token) == {"monitors": []}


async def test_monitor_refusals(cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller],
                                base_settings: Settings) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    agent_token = (await cti.api("POST", "/api/users", json={"name": "ana-login", "role": "agent",
                                                              "agent_id": "ana"}, expect=201))["token"]
    outsider = await supervisor_token(cti, "otto", scope={"queues": ["sales"], "teams": []})
    staff = await supervisor_token(cti)
    caller = SippCaller("1500100", caller="0215550123", duration_ms=120_000)  # the test ends the call
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    path = f"/api/calls/{call.call_id}/monitor"
    body = {"mode": "listen", "extension": "7040"}
    await cti.api("POST", path, token=agent_token, json=body, expect=403)
    refused = await cti.api("POST", path, token=outsider, json=body, expect=404)  # queue 'general' is not theirs
    assert refused == {"error": {"status": 404, "code": "call_not_found", "params": {"call_id": call.call_id},
                                 "message": f"no call {call.call_id!r}"}}
    await cti.api("POST", "/api/calls/nope/monitor", token=staff, json=body, expect=404)
    await cti.api("POST", path, token=staff, json={"mode": "spy", "extension": "7040"}, expect=422)
    await cti.api("POST", path, token=staff, json={"mode": "listen", "extension": "9999"}, expect=422)
    await cti.api("DELETE", "/api/monitors/nope", token=staff, expect=404)
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0


async def test_listen_button_on_the_dashboard_starts_a_monitor(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    start_phone(phones, base_settings, "7040", ring_ms=100, trace=True)  # the supervisor's desk phone
    agent = await cti.create_agent("ana", "Ana")
    await cti.login("ana", "7001")
    token = await supervisor_token(cti)
    outsider = await supervisor_token(cti, "otto", scope={"queues": ["sales"], "teams": []})
    await cti.speaks("en", token, outsider)
    # Longer than the test however slow the machine: the agent ends the call when the test is done with it.
    caller = SippCaller("1500100", caller="0215550123", duration_ms=120_000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    async with browser_page() as page:
        # A supervisor of other queues: the server does not list the call to them at all.
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={outsider}")
        await expect(page.locator("#link")).to_have_text("connected")
        await expect(page.locator("#calls-empty")).to_have_text("No calls right now.")
        await expect(page.locator("#calls tr")).to_have_count(0)
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={token}")
        row = page.locator(f'#calls tr[data-call="{call.call_id}"]')
        await expect(row.locator("td.state")).to_have_text("talking", timeout=10000)
        listen = row.locator('button[data-mode="listen"]')
        # The server's refusal is shown as it is: no phone 9999.
        await page.fill("#my-extension", "9999")
        await listen.click()
        status = page.locator("#monitor-status")
        await expect(status).to_have_text(re.compile(r"^Refused by the server: check your extension"))
        await expect(status).to_have_class("error")
        assert not cti.telephony.monitors.active
        # The supervisor's own phone: it rings, answers and listens to the call.
        await page.fill("#my-extension", "7040")
        await listen.click()
        await expect(status).to_have_text("Listen: your phone 7040 is ringing; answer it to join.")
        item = page.locator("#monitors li")
        await expect(item).to_have_count(1)
        monitor_id = await item.get_attribute("data-monitor")
        assert monitor_id is not None and monitor_id.startswith(f"{call.call_id}-s")

        # Marked answered as the phone picks up, and bridged with the snoop on the agent's leg just after.
        await eventually(lambda: monitor_connected(cti, monitor_id, phones["7040"]),
                         message="the supervisor's phone listening to the call")
        assert cti.telephony.monitors.active[monitor_id].mode.value == "listen"
        # Stop from the page: the supervisor's leg hangs up, the call goes on.
        await item.locator("button").click()
        await expect(status).to_have_text("Monitoring stopped.")
        await eventually(lambda: not cti.telephony.monitors.active, message="the monitor to stop")
        assert cti.query.find_call(call.call_id) is not None
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=agent)
    assert await asyncio.to_thread(caller.wait, 20) == 0


async def test_a_reloaded_dashboard_shows_the_live_monitor_and_stops_it(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    start_phone(phones, base_settings, "7040", ring_ms=100, trace=True)  # the supervisor's desk phone
    agent = await cti.create_agent("ana", "Ana")
    await cti.login("ana", "7001")
    token = await supervisor_token(cti)
    other = await supervisor_token(cti, "vic")
    await cti.speaks("en", token, other)
    caller = SippCaller("1500100", caller="0215550123", duration_ms=120_000)  # the agent ends it
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    async with browser_page() as page:
        url = f"{cti.client.make_url('/ui/dashboard.html')}#token={token}"
        await page.goto(url)
        row = page.locator(f'#calls tr[data-call="{call.call_id}"]')
        await expect(row.locator("td.state")).to_have_text("talking", timeout=10000)
        await expect(row.locator("td.agent")).to_have_text("Ana")
        await expect(row.locator("td.caller")).to_have_text("Caller (*******123)")  # masked for supervisors
        await page.fill("#my-extension", "7040")
        await row.locator('button[data-mode="whisper"]').click()
        await expect(page.locator("#monitors li")).to_have_count(1)
        monitor_id = await page.locator("#monitors li").get_attribute("data-monitor")
        assert monitor_id is not None

        await eventually(lambda: monitor_connected(cti, monitor_id, phones["7040"]),
                         message="the supervisor's phone whispering on the call")
        # A reload keeps nothing in memory: the monitor comes back from the server, with its stop button.
        await page.reload()
        await expect(page.locator("#link")).to_have_text("connected")
        item = page.locator(f'#monitors li[data-monitor="{monitor_id}"]')
        await expect(item).to_have_text(re.compile(r"^Whisper · Ana · your phone 7040"))
        await expect(page.locator("#monitors li")).to_have_count(1)
        # Another supervisor's dashboard does not list it.
        async with browser_page() as theirs:
            await theirs.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={other}")
            await expect(theirs.locator(f'#calls tr[data-call="{call.call_id}"]')).to_have_count(1)
            await expect(theirs.locator("#monitors li")).to_have_count(0)
        await item.get_by_role("button", name="Stop").click()
        await expect(page.locator("#monitor-status")).to_have_text("Monitoring stopped.")
        await expect(page.locator("#monitors li")).to_have_count(0)
        await eventually(lambda: not cti.telephony.monitors.active, message="the monitor to stop")
        assert cti.query.find_call(call.call_id) is not None  # the call goes on
        await page.reload()
        await expect(row.locator("td.state")).to_have_text("talking")
        await expect(page.locator("#monitors li")).to_have_count(0)
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=agent)
    assert await asyncio.to_thread(caller.wait, 20) == 0
