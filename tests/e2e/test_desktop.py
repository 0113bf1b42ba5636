"""The agent desktop in a real headless Chromium, with real calls: screen pop, script, cross-sell, wrap-up."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from playwright.async_api import expect

from cti.persistence import CustomerRepository, InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.telephony import call_bridge_id
from tests.e2e.conftest import Cti, start_phone
from tests.hostile import HTML_PERSON, hostile_dataset
from tests.support import browser_page, eventually

BUDI = ("02155501001", "Budi Santoso")  # seeded: Jakarta, gold, owns PLAN-L, FIBER-100, PHONE-X1, owes Rp 750.000
DEWI = ("0225550303", HTML_PERSON)


async def seed(cti: Cti) -> None:
    await CustomerRepository(cti.db).seed(hostile_dataset(now=datetime.now(UTC), customers=30, seed=7))


def url(cti: Cti, token: str) -> str:
    return f"{cti.client.make_url('/ui/desktop.html')}#token={token}"


async def speaks(cti: Cti, token: str, language: str) -> str:
    """The user's pages speak ``language`` (users start in Indonesian); the token, for chaining."""
    await cti.api("PATCH", "/api/me", token=token, json={"language": language})
    return token


async def test_agent_gets_the_pop_follows_the_script_and_wraps_up(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=300)
    token = await speaks(cti, await cti.create_agent("ana", "Ana Wijaya"), "en")
    bob_token = await cti.create_agent("bob", "Bob")
    bob_frames: list[dict[str, Any]] = []
    async with browser_page() as page, aiohttp.ClientSession() as http, http.ws_connect(
            cti.client.make_url("/ws/desktop"), headers={"Authorization": f"Bearer {bob_token}"}) as bob:
        await page.goto(url(cti, token))
        await page.fill("#extension", "7001")
        await page.click("#login")
        await expect(page.locator("#agent-state")).to_have_text("ready")
        await expect(page.locator("#link")).to_have_text("connected")

        caller = SippCaller("1500100", caller=BUDI[0], caller_name="Budi", duration_ms=5000,
                            target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
        assert await page.text_content("#caller-verified") == "verified (caller ID)"  # calling from his phone
        assert await page.text_content("#customer-tier") == "gold"
        assert await page.text_content("#customer-balance") == "Rp 750.000"
        products = await page.locator("#products li").all_text_contents()
        assert len(products) == 3
        # Why routing chose her, from the decision's codes, in her language (not the server's English sentence).
        assert "; chosen by longest idle among 1 eligible agents at step 1 (region: " in (
            await page.text_content("#routing-reason") or "")
        offers = await page.locator("#crosssell li").all_text_contents()
        assert 1 <= len(offers) <= 3 and all(" — " in o for o in offers)  # a name and a reason each
        steps = await page.locator("#script .step").all_text_contents()
        assert steps and "Budi Santoso" in " ".join(steps)  # the template filled in the customer's name
        assert await cti.api("GET", "/api/scripts")  # the shipped scripts were installed

        # Answer the first question the script asks; the next steps come back over the socket.
        first = page.locator("#script button[data-answer]").first
        answered_step = await first.evaluate("b => b.closest('.step').dataset.step")
        answered_value = await first.get_attribute("data-answer")
        await first.click()
        await expect(page.locator(f'.step[data-step="{answered_step}"] button.chosen')).to_have_count(1)

        assert await asyncio.to_thread(caller.wait, 30) == 0
        await page.wait_for_selector("#wrapup:not([hidden])", timeout=15000)
        await page.select_option("#disposition", "sale")
        await page.fill("#notes", "Wants the mesh router <b>next month</b>")
        await page.check("input.accept >> nth=0")
        accepted = await page.locator("input.accept >> nth=0").get_attribute("value")
        await page.click("#save-wrapup")
        await page.wait_for_selector("#wrapup-saved:not([hidden])")
        await expect(page.locator("#agent-state")).to_have_text("ready")

        # Bob's desktop saw his own agent's frames only, never Ana's pop.
        with_timeout = asyncio.timeout(0.5)
        try:
            async with with_timeout:
                async for message in bob:
                    bob_frames.append(json.loads(message.data))
        except TimeoutError:
            pass
    assert bob_frames and bob_frames[0]["type"] == "snapshot" and bob_frames[0]["data"]["pop"] is None
    assert all(frame["type"] != "offer" for frame in bob_frames)
    assert all((f["data"] or {}).get("agent_id") in (None, "bob") for f in bob_frames if f["type"] == "agent")

    await cti.settled()
    record = (await InteractionRepository(cti.db).list(limit=1))[0]
    assert (record.customer_id, record.agent_id, record.outcome) == ("10000001", "ana", "answered")
    assert record.disposition == "sale"
    assert record.notes == "Wants the mesh router <b>next month</b>"
    assert record.script_answers is not None
    stored = record.script_answers["answers"][answered_step]
    assert stored == answered_value or stored == {"yes": True, "no": False}.get(answered_value or "")
    assert record.script_answers["script_id"] and answered_step in record.script_answers["path"]
    assert record.crosssell is not None and record.crosssell["accepted"] == [accepted]
    assert accepted in record.crosssell["offered"]
    view = await CustomerRepository(cti.db).customer_view("10000001")
    assert view is not None and view.contacts[0].call_id == record.call_id
    assert view.contacts[0].disposition == "sale" and view.contacts[0].cross_sell_accepted == (accepted,)


async def test_html_in_a_customer_name_shows_as_text(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=200)
    token = await speaks(cti, await cti.create_agent("ana", "Ana"), "en")
    await cti.login("ana", "7001")
    async with browser_page() as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await page.goto(url(cti, token))
        caller = SippCaller("1500100", caller=DEWI[0], duration_ms=3000, target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#customer-name")).to_have_text(DEWI[1], timeout=15000)
        assert await page.text_content("#customer-name") == DEWI[1]
        assert await page.locator("#pop script").count() == 0
        contacts = " ".join(await page.locator("#contacts li").all_text_contents())
        assert "<" in contacts or not contacts  # notes with HTML are text too
        assert dialogs == []
        assert await asyncio.to_thread(caller.wait, 30) == 0


async def test_a_caller_who_hangs_up_while_the_phone_rings_leaves_nothing_on_the_desk(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=8000)  # would answer after the caller has gone
    token = await speaks(cti, await cti.create_agent("ana", "Ana"), "en")
    await cti.login("ana", "7001")
    async with browser_page() as page:
        await page.goto(url(cti, token))
        await expect(page.locator("#link")).to_have_text("connected")
        caller = SippCaller("1500100", caller=BUDI[0], caller_name="Budi", duration_ms=1500,
                            target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
        assert await asyncio.to_thread(caller.wait, 30) == 0
        await eventually(lambda: cti.query.agent("ana").state.value == "ready", message="Ana free again")
        # Every frame of the call has reached the page once a later change has: a break, asked for now.
        await cti.api("POST", "/api/agents/ana/state", token=token, json={"state": "not_ready", "reason": "break"})
        for _ in range(2):  # and so after a reload: nothing to wrap up, no pop, no ended call
            await expect(page.locator("#agent-state")).to_have_text("not ready")
            await expect(page.locator("#pop")).to_be_hidden()
            await expect(page.locator("#wrapup")).to_be_hidden()
            await expect(page.locator("#call-info")).to_be_hidden()
            await expect(page.locator("#no-call")).to_be_visible()
            await page.reload()
    await cti.settled()
    record = (await InteractionRepository(cti.db).list(limit=1))[0]
    assert (record.outcome, record.customer_id) == ("abandoned", "10000001")


async def test_unknown_caller_gets_a_blank_record_to_fill_in(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    token = await speaks(cti, await cti.create_agent("ana", "Ana"), "en")
    await cti.login("ana", "7001")
    async with browser_page() as page:
        await page.goto(url(cti, token))
        caller = SippCaller("1500100", caller="0315559876", duration_ms=6000, target=cti.settings.sip_bind)
        callers.append(caller)
        await page.wait_for_selector("#unknown:not([hidden])", timeout=15000)
        assert await page.text_content("#customer-name") == "Unknown caller"
        await page.fill("#new-name", "Rina Kusuma")
        await page.click("#create-customer")
        await expect(page.locator("#customer-name")).to_have_text("Rina Kusuma")
        assert await page.text_content("#customer-phones") == "+62315559876"
        assert await asyncio.to_thread(caller.wait, 30) == 0
    await cti.settled()
    record = (await InteractionRepository(cti.db).list(limit=1))[0]
    customer = await CustomerRepository(cti.db).customer_by_phone("+62315559876")
    assert customer is not None and customer.name == "Rina Kusuma" and customer.region == "surabaya"
    assert record.customer_id == customer.customer_id


async def test_a_transfer_moves_the_caller_and_the_pop_to_the_next_agent(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=200)
    start_phone(phones, base_settings, "7002", ring_ms=200)
    ana_token = await speaks(cti, await cti.create_agent("ana", "Ana"), "en")
    citra_token = await speaks(cti, await cti.create_agent("citra", "Citra"), "en")
    await cti.login("citra", "7002", ready=False)  # not ready yet: the call goes to Ana first
    async with browser_page() as ana, browser_page() as citra:
        await ana.goto(url(cti, ana_token))
        await ana.fill("#extension", "7001")
        await ana.click("#login")
        await expect(ana.locator("#agent-state")).to_have_text("ready")
        await citra.goto(url(cti, citra_token))
        await expect(citra.locator("#link")).to_have_text("connected")

        # Longer than two desktops' steps on any machine: the test drops the caller's line when it is done.
        caller = SippCaller("1500100", caller=BUDI[0], caller_name="Budi", duration_ms=120_000,
                            target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(ana.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
        await expect(ana.locator("#call-state")).to_have_text("connected", timeout=10000)
        call_id = (await cti.api("GET", "/api/calls"))["calls"][0]["call_id"]
        await cti.api("POST", "/api/agents/citra/state", token=citra_token, json={"state": "ready"})

        # Ana hands Budi to Citra with a note.
        await ana.select_option("#transfer-kind", "agent")
        await ana.fill("#transfer-target", "citra")
        await ana.fill("#transfer-note", "Wants to upgrade <his> plan")
        await ana.click("#transfer-go")
        await ana.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        await expect(ana.locator("#call-state")).to_have_text("transferred")

        # Citra's desktop gets the pop, with who transferred it and the note, as text.
        await expect(citra.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
        await expect(citra.locator("#transfer-info")).to_have_text("Transferred by ana: Wants to upgrade <his> plan")
        await expect(citra.locator("#call-state")).to_have_text("connected", timeout=10000)
        live = await cti.api("GET", f"/api/calls/{call_id}")
        assert (live["state"], live["agent_id"]) == ("connected", "citra")
        # In Asterisk the caller now shares a bridge with Citra's leg, and Ana's leg is gone. The call is
        # connected when Citra answers; bridging the two legs follows a moment later.
        call = cti.query.call(call_id)
        assert call.agent_channel_id is not None and call.agent_channel_id.endswith("-a2")

        async def call_bridge() -> set[str]:
            bridges = {b.id: set(b.channels) for b in await cti.ari.list_bridges()}
            legs = bridges.get(call_bridge_id(call_id, 2), set())  # the second connection's own bridge
            return legs if legs == {call.channel_id, call.agent_channel_id} else set()

        await eventually(call_bridge, message="the caller and Citra's leg in the call's bridge")
        assert f"{call_id}-a1" not in {c.id for c in await cti.ari.list_channels()}

        # Ana's wrap-up of her part is accepted although the call is Citra's now.
        await ana.select_option("#disposition", "transferred")
        await ana.fill("#notes", "Sent to sales")
        await ana.click("#save-wrapup")
        await ana.wait_for_selector("#wrapup-saved:not([hidden])")
        await cti.ari.hangup(call.channel_id)
        assert await asyncio.to_thread(caller.wait, 20) == 0
        await citra.wait_for_selector("#wrapup:not([hidden])", timeout=15000)

    await cti.settled()
    record = await InteractionRepository(cti.db).get(call_id)
    assert record is not None
    assert (record.agent_id, record.outcome, record.customer_id, record.offers) == ("citra", "answered", "10000001", 2)
    transferred = [d for d in (record.routing or {})["decisions"] if d["kind"] == "transferred"]
    assert [(d["winner"], d["candidates"], d["note"]) for d in transferred] == [
        ("ana", ["citra"], "Wants to upgrade <his> plan")]
    view = await CustomerRepository(cti.db).customer_view("10000001")
    assert view is not None and view.contacts[0].call_id == call_id
    assert (view.contacts[0].agent_id, view.contacts[0].notes) == ("ana", "Sent to sales")


async def test_transfer_refusals_over_the_api(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    ana = await cti.create_agent("ana", "Ana")
    bob = await cti.create_agent("bob", "Bob")
    await cti.login("ana", "7001")
    await cti.api("POST", "/api/calls/nope/transfer", json={"queue": "general"}, expect=404)
    caller = SippCaller("1500100", caller="0315559876", duration_ms=8000, target=cti.settings.sip_bind)
    callers.append(caller)
    for _ in range(100):
        calls = (await cti.api("GET", "/api/calls"))["calls"]
        if calls and calls[0]["state"] == "connected":
            break
        await asyncio.sleep(0.1)
    call_id = calls[0]["call_id"]
    path = f"/api/calls/{call_id}/transfer"
    await cti.api("POST", path, token=bob, json={"queue": "general"}, expect=404)  # not Bob's call
    await cti.api("POST", path, token=ana, json={}, expect=422)  # neither a queue nor an agent
    await cti.api("POST", path, token=ana, json={"queue": "general", "agent_id": "bob"}, expect=422)
    await cti.api("POST", path, token=ana, json={"queue": "nowhere"}, expect=404)
    await cti.api("POST", path, token=ana, json={"agent_id": "bob"}, expect=409)  # Bob is not logged in
    await cti.api("POST", path, token=ana, data="{garbage", expect=400)
    assert (await cti.api("GET", f"/api/calls/{call_id}"))["agent_id"] == "ana"  # nothing moved

    # To the queue with nobody ready (Ana takes a break after this call, so it does not come back to her):
    # the caller holds, with music, in the queue's holding bridge.
    await cti.api("POST", "/api/agents/ana/state", token=ana, json={"state": "not_ready", "reason": "break"})
    moved = await cti.api("POST", path, token=ana, json={"queue": "general", "note": "billing question"})
    assert (moved["state"], moved["agent_id"], moved["queue"]) == ("waiting", None, "general")
    assert (await cti.api("GET", "/api/agents/ana"))["state"] == "not_ready"
    call = cti.query.call(call_id)

    async def held_in_the_queue() -> bool:
        # Both at once, not one then the other: Asterisk may still list the call's bridge (destroyed before the
        # caller moved, the agent's leg leaving it) a moment after the caller shows in the holding bridge; a full
        # run on two loaded cores saw it.
        bridges = {b.id: set(b.channels) for b in await cti.ari.list_bridges()}
        return call.channel_id in bridges.get("cti-hold-general", set()) and call_bridge_id(call_id) not in bridges

    await eventually(held_in_the_queue, message="the caller in the queue's holding bridge, the call's bridge gone")
    # Bob comes in and gets it.
    start_phone(phones, base_settings, "7002", ring_ms=200)
    await cti.login("bob", "7002")
    call = await eventually(lambda: (c := cti.query.call(call_id)).state.value == "connected" and c,
                            message="bob to answer")
    assert (call.state.value, call.agent_id) == ("connected", "bob")

    async def bridged() -> bool:
        bridges = {b.id: set(b.channels) for b in await cti.ari.list_bridges()}
        return bridges.get(call_bridge_id(call_id, 2)) == {call.channel_id, call.agent_channel_id}

    await eventually(bridged, message="the caller and bob's leg in the call's bridge")
    assert await asyncio.to_thread(caller.wait, 30) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call_id)
    assert record is not None and (record.agent_id, record.outcome, record.offers) == ("bob", "answered", 2)


ID_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
CENTER = ZoneInfo("Asia/Jakarta")


async def test_the_desktop_in_both_languages_shows_the_present_only(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings, tmp_path: Path,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=300)
    token = await speaks(cti, await cti.create_agent("ana", "Ana Wijaya"), "id")
    view = await CustomerRepository(cti.db).customer_view("10000001")
    assert view is not None and view.contacts
    last_contact = view.contacts[0].at.astimezone(CENTER)
    # An Indonesian browser in another time zone: the desktop speaks Indonesian, dates are the center's.
    async with browser_page(locale="id-ID", timezone_id="UTC") as page:
        await page.goto(url(cti, token))
        await expect(page.locator("html")).to_have_attribute("lang", "id")
        await expect(page.locator("#user-name")).to_have_text("Ana Wijaya")  # the agent's name, not the login
        await page.fill("#extension", "7001")
        await page.click("#login")
        await expect(page.locator("#agent-state")).to_have_text("siap")
        await expect(page.locator("#link")).to_have_text("terhubung")
        await expect(page.locator("#state-timer")).to_have_text(re.compile(r"^00:0\d$"))
        labels = await page.locator("#disposition option").all_text_contents()
        assert "Minta ditelepon kembali" in labels and "callback_requested" not in labels

        caller = SippCaller("1500100", caller=BUDI[0], caller_name="Budi", duration_ms=6000,
                            target=cti.settings.sip_bind)
        callers.append(caller)
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
        assert await page.text_content("#customer-balance") == "Rp 750.000"
        assert await page.text_content("#customer-tier") == "emas"
        assert await page.text_content("#caller-verified") == "terverifikasi (nomor penelepon)"
        # Why routing chose her, in Indonesian from the decision's codes: no word of the server's English sentence.
        why = await page.text_content("#routing-reason") or ""
        assert "; dipilih dengan paling lama menganggur dari 1 agen yang memenuhi syarat pada tahap 1 (wilayah: " in (
            why)
        assert not any(word in why for word in ("matched", "longest_idle", "eligible", "step"))
        first_contact = await page.locator("#contacts li").first.text_content()
        assert first_contact is not None
        assert first_contact.startswith(f"{last_contact.day} {ID_MONTHS[last_contact.month - 1]} {last_contact.year} ")
        await expect(page.locator("#agent-state")).to_have_text("sedang menelepon", timeout=10000)
        await expect(page.locator("#call-state")).to_have_text("tersambung")
        await page.screenshot(path=str(tmp_path / "desktop-id.png"), full_page=True)  # kept for review
        await page.fill("#transfer-target", "sales")
        await page.fill("#transfer-note", "draft")

        # The call ends: the wrap-up form for it, the transfer inputs gone and empty.
        assert await asyncio.to_thread(caller.wait, 30) == 0
        await page.wait_for_selector("#wrapup:not([hidden])", timeout=15000)
        # No after-call time in this queue, yet the next call waits until the wrap-up is saved.
        await expect(page.locator("#agent-state")).to_have_text("penyelesaian")
        await expect(page.locator("#transfer")).to_be_hidden()
        assert await page.input_value("#transfer-target") == "" and await page.input_value("#transfer-note") == ""
        await expect(page.locator("#acw-timer")).to_have_text(re.compile(r"^00:\d\d$"))
        # A reload restores the present: the ended call's pop and its wrap-up, nothing else.
        await page.reload()
        await page.wait_for_selector("#wrapup:not([hidden])", timeout=15000)
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso")
        await expect(page.locator("#transfer")).to_be_hidden()

        # English, chosen on the page: the same desk in the other language, money written the same way.
        await page.select_option("#language", "en")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#customer-balance")).to_have_text("Rp 750.000")
        await expect(page.locator("#customer-tier")).to_have_text("gold")
        await expect(page.locator("#sign-out")).to_have_text("Sign out")
        await expect(page.locator("#routing-reason")).to_contain_text("; chosen by longest idle among 1 eligible")
        await page.screenshot(path=str(tmp_path / "desktop-en-wrapup.png"), full_page=True)
        labels = await page.locator("#disposition option").all_text_contents()
        assert "Callback requested" in labels
        await page.select_option("#disposition", "callback_requested")
        await page.fill("#notes", "Call back tomorrow")
        await page.click("#save-wrapup")
        await page.wait_for_selector("#wrapup-saved:not([hidden])")
        await expect(page.locator("#wrapup-saved")).to_have_text("Wrap-up saved.")

        # After the wrap-up the desk is empty: no pop, no call, an empty form; and so after a reload.
        for _ in range(2):
            await expect(page.locator("#pop")).to_be_hidden()
            await expect(page.locator("#wrapup")).to_be_hidden()
            await expect(page.locator("#no-call")).to_be_visible()
            await expect(page.locator("#call-info")).to_be_hidden()
            assert await page.text_content("#customer-name") == ""
            assert await page.locator("#contacts li").count() == 0
            assert await page.input_value("#notes") == ""
            await expect(page.locator("#agent-state")).to_have_text("ready")
            await page.reload()
            await expect(page.locator("#link")).to_have_text("connected")  # the choice of English was kept
    await cti.settled()
    record = (await InteractionRepository(cti.db).list(limit=1))[0]
    assert (record.disposition, record.notes) == ("callback_requested", "Call back tomorrow")
