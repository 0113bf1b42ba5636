"""A recorded call on the real call path: the caller's phone and the agent's each send a tone of their own (600
and 1400 Hz), Asterisk records the call's bridge, and the file cti keeps holds both tones, without the paused
part; it is listed with the interaction, played over HTTP (ranges for a player, each play audited once) and
erased with the customer."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import expect

from cti.persistence import AuditRepository, CustomerRepository, RecordingRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.web import RECORDINGS
from tests.e2e.conftest import Cti, start_phone
from tests.e2e.tones import AGENT_HZ, CALLER_HZ, spectrum, tone
from tests.support import browser_page, eventually


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"queues": {"general": {"recording": {"inbound": "always"}}}}))
    return {"routing_rules": rules, "recording_dir": tmp_path / "recordings"}


async def test_a_recorded_call_holds_both_sides_and_is_played_audited_and_erased(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings, tmp_path: Path
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100, play=tone(tmp_path / "agent.ulaw", AGENT_HZ))
    token = await cti.create_agent("ana", "Ana")
    await cti.login("ana", "7001")
    customer = await CustomerRepository(cti.db).create_blank_customer("0215550177", name="Rina")
    caller = SippCaller("1500100", caller="0215550177", duration_ms=30_000,
                        play=tone(tmp_path / "caller.ulaw", CALLER_HZ))
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    url = f"/api/calls/{call.call_id}/recording"

    async def recording() -> bool:
        return bool((await cti.api("GET", url, token=token))["status"] == "recording")

    await eventually(recording, message="the recording to start (the queue records always)")  # type: ignore[arg-type]
    assert (await cti.api("GET", url, token=token))["mode"] == "always"
    refused = await cti.api("POST", url, token=token, json={"action": "stop"}, expect=409)
    assert refused["error"]["message"] == "this call is always recorded: it may be paused, not stopped"
    await asyncio.sleep(3)
    assert (await cti.api("POST", url, token=token, json={"action": "pause"}))["status"] == "paused"
    await asyncio.sleep(2)
    assert (await cti.api("POST", url, token=token, json={"action": "resume"}))["status"] == "recording"
    await asyncio.sleep(2)
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    assert await asyncio.to_thread(caller.wait, 20) == 0, caller.errors()[-2000:]
    await cti.settled()
    await cti.client.app[RECORDINGS].drain()

    [listed] = (await cti.api("GET", f"/api/interactions/{call.call_id}/recordings", token=token))["recordings"]
    assert (listed["call_id"], listed["agent_id"], listed["format"]) == (call.call_id, "ana", "wav")
    [(paused_from, paused_to)] = listed["paused"]
    assert 2.5 < paused_from < 4.5 and 1.8 < paused_to - paused_from < 3.0
    # Played by its agent: the bytes of the file, with ranges for a player; the play audited once.
    async with cti.client.get(listed["url"], headers=cti.headers(token)) as response:
        assert (response.status, response.content_type) == (200, "audio/wav")
        assert response.headers["Cache-Control"] == "no-store"
        audio = await response.read()
    assert (len(audio), hashlib.sha256(audio).hexdigest()) == (listed["size"], listed["sha256"])
    async with cti.client.get(listed["url"], headers={**cti.headers(token), "Range": "bytes=100-199"}) as response:
        assert response.status == 206 and await response.read() == audio[100:200]

    # Both sides are in it, and the pause is not: ~7 s of call, ~2 s of it paused.
    seconds, shares = spectrum(audio)
    assert abs(seconds - (listed["seconds"] - (paused_to - paused_from))) < 1.0, (seconds, listed)
    assert shares[CALLER_HZ] > 0.2 and shares[AGENT_HZ] > 0.2, shares

    async def audited() -> list[tuple[str, str]]:
        entries = await AuditRepository(cti.db).search(subject_type="recording")
        return [(e.actor, e.action) for e in entries]

    await eventually(audited, message="the play audited")  # type: ignore[arg-type]
    assert await audited() == [("agent-ana", "play")]

    # Erasing the customer erases the call's recording, file and row.
    [stored] = await RecordingRepository(cti.db, cti.settings.recording_dir).for_call(call.call_id)
    path = RecordingRepository(cti.db, cti.settings.recording_dir).file(stored)
    assert path.read_bytes() == audio
    erased = await cti.api("DELETE", f"/api/customers/{customer.customer_id}")
    assert erased["erased"]["recordings"] == 1
    assert not path.exists()
    assert await RecordingRepository(cti.db, cti.settings.recording_dir).for_call(call.call_id) == []
    await cti.api("GET", listed["url"], expect=404)


async def test_the_agent_s_desktop_lists_their_recorded_call_and_plays_it_and_nobody_else_s(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    token = await cti.create_agent("ana", "Ana")
    other = await cti.create_agent("bob", "Bob")
    await cti.speaks("en", token)
    await cti.login("ana", "7001")
    caller = SippCaller("1500100", caller="0215550177", duration_ms=30_000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)

    async def recording() -> bool:
        return bool((await cti.api("GET", f"/api/calls/{call.call_id}/recording"))["status"] == "recording")

    await eventually(recording, message="the recording to start (the queue records always)")  # type: ignore[arg-type]
    await asyncio.sleep(2)
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    assert await asyncio.to_thread(caller.wait, 20) == 0, caller.errors()[-2000:]
    await cti.settled()
    await cti.client.app[RECORDINGS].drain()
    [stored] = await RecordingRepository(cti.db, cti.settings.recording_dir).for_call(call.call_id)

    # Only the agent's own: another agent has no such call and cannot fetch its audio; staff use the history.
    assert (await cti.api("GET", "/api/me/recordings", token=other))["calls"] == []
    await cti.api("GET", f"/api/recordings/{stored.recording_id}", token=other, expect=404)
    await cti.api("GET", "/api/me/recordings", expect=403)
    await cti.api("GET", "/api/me/recordings?limit=51", token=token, expect=400)

    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await expect(page.locator("#my-calls-title")).to_have_text("My recent calls")
        item = page.locator(f'#my-calls-list li[data-call="{call.call_id}"]')
        await expect(item).to_contain_text("0215550177")
        await expect(item).to_contain_text("general")
        async with page.expect_response(lambda r: r.url.endswith(f"/api/recordings/{stored.recording_id}")) as got:
            await item.locator(f'li[data-recording="{stored.recording_id}"] button').click()
        response = await got.value
        assert (response.status, response.headers["content-length"]) == (200, str(stored.size))
        audio = item.locator("audio")
        await expect(audio).to_be_visible()
        # The player took the whole file (fetched with the session's credentials, never a token in a URL): its
        # length is the recording's.
        assert (await audio.get_attribute("src") or "").startswith("blob:")
        duration = await eventually(lambda: audio.evaluate("a => a.readyState >= 1 && a.duration"),  # type: ignore[arg-type]
                                    message="the player to load the recording")
        assert abs(duration - stored.seconds) < 1.0, (duration, stored.seconds)
        assert await page.locator("#error").is_hidden()

    async def audited() -> list[tuple[str, str, str]]:
        entries = await AuditRepository(cti.db).search(subject_type="recording")
        return [(e.actor, e.action, e.subject_id) for e in entries]

    await eventually(audited, message="the play audited")  # type: ignore[arg-type]
    assert await audited() == [("agent-ana", "play", stored.recording_id)]
