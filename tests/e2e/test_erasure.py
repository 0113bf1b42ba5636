"""Erasing a customer through the API after real calls (self-service in the IVR, then an agent with a screen pop
and a wrap-up): afterwards nothing of them is left in any column of any table, in Redis, in the screen pop, in
the desktops' replay buffers, in the IVR's audio or in cti's logs. On SQLite here; the same erasure on
PostgreSQL, every column of every table searched afterwards, is tests/integration/test_erasure_store.py."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from cti.asterisk import AsteriskRoot
from cti.persistence import CustomerRepository, InteractionRepository
from cti.settings import Settings
from cti.sim import Press, SippAgent, SippIvrCaller, Wait
from cti.speech import PromptRenderer
from tests.e2e.conftest import Cti, start_phone
from tests.privacy import redis_holding, stored_in, tables_holding
from tests.support import eventually

FLOWS = Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml"
RULES = {"queues": {"care": {"skills": {"care": 1}}}, "routes": [{"name": "care", "queue": "care"}]}

NAME = "Ratna Kusumawati"
NATIONAL, E164 = "081355507788", "+6281355507788"
EMAIL = "ratna.kusuma@example.org"
ADDRESS = "Jl. Melati 7 RT 03"
NOTES = "Moving to Jl. Melati 7 next week; wants the router collected"
ANSWER = "Saturday mornings at the Melati house"
TASK = "Ring Ratna about collecting the Melati router"
NEEDLES = (NAME, "Kusumawati", NATIONAL, E164, E164.lstrip("+"), EMAIL, ADDRESS, NOTES, ANSWER, TASK)


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path, "ivr_flows": FLOWS}


async def desktop(cti: Cti, token: str, *, since: int | None = None) -> list[dict[str, Any]]:
    """What a desktop connecting now gets: a snapshot, or the frames after ``since`` up to the newest one."""
    headers = {"Authorization": f"Bearer {token}"}
    url = cti.client.make_url("/ws/desktop")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, headers=headers) as ws:
            snapshot = json.loads((await ws.receive()).data)
        if since is None:
            return [snapshot]
        frames: list[dict[str, Any]] = []
        async with http.ws_connect(url.with_query(since=since), headers=headers) as ws:
            while not frames or (frames[-1]["type"] != "snapshot" and frames[-1]["seq"] < snapshot["seq"]):
                frames.append(json.loads((await ws.receive()).data))
        return frames


async def test_an_erased_customer_is_left_nowhere(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
    caplog: pytest.LogCaptureFixture, asterisk: AsteriskRoot,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cti")
    start_phone(phones, base_settings, "7001", ring_ms=200)
    ana = await cti.create_agent("ana", "Ana", skills={"care": 5})
    await cti.login("ana", "7001")
    customer_id = (await cti.api("POST", "/api/customers", expect=201,
                                 json={"name": NAME, "phone": NATIONAL, "email": EMAIL}))["customer_id"]
    customers = CustomerRepository(cti.db)
    record = await customers.customer(customer_id)
    assert record is not None
    await customers.update_customer(customer_id, replace(record.fields(), address=ADDRESS, city="Bogor"))

    # Self-service: their balance, verified by the number they call from (their language is known: no
    # language menu). Callers who key a customer number are covered by tests/integration/test_erasure_store.py.
    balance_call = SippIvrCaller("1500200", [Wait(1000), Press("2"), Wait(9000), Press("2")],
                                 caller=NATIONAL, caller_name=NAME, duration_ms=15000, target=cti.settings.sip_bind)
    callers.append(balance_call)
    assert await asyncio.to_thread(balance_call.wait, 60) == 0, balance_call.errors()[-1500:]
    await eventually(lambda: cti.telephony.ivr is not None and not cti.telephony.ivr.calls, message="the IVR done")
    await cti.settled()
    served = (await eventually(lambda: InteractionRepository(cti.db).list(limit=1), message="the IVR's row"))[0]
    assert served.outcome == "self_service" and served.ivr is not None
    assert served.ivr["verification"]["method"] == "caller_id" and served.customer_id == customer_id
    told = [p for p in served.ivr["prompts"] if p.startswith("Saldo tagihan Anda")]
    assert told, served.ivr["prompts"]
    # Said for this caller only: no audio of it is cached by its text, none rendered for them is left.
    sounds = asterisk.sounds_dir
    renderer = PromptRenderer(sounds)
    try:
        assert renderer.cached(told[0], "id") is None
        assert list(sounds.glob("*/cti/once/*")) == []
        # What a version before this one cached of the same words: the erasure deletes it (by its text).
        legacy = renderer.render_sync(told[0], "id")
    finally:
        renderer.close()

    # An agent takes their call: screen pop, live state in Redis, wrap-up with notes, answers and a follow-up.
    agent_call = SippIvrCaller("1500200", [Wait(1000), Press("4"), Wait(1500), Press("1")],
                               caller=NATIONAL, caller_name=NAME, duration_ms=6000, target=cti.settings.sip_bind)
    callers.append(agent_call)
    call_id = (await cti.first_call()).call_id
    await cti.answered(call_id)
    live_call = cti.query.find_call(call_id)
    assert live_call is not None and live_call.customer_id == customer_id
    assert await redis_holding(cti.settings.redis_url, cti.settings.redis_prefix, [NAME])
    refused = await cti.api("DELETE", f"/api/customers/{customer_id}", expect=409)
    assert refused["error"]["message"] == f"customer {customer_id} is on a call now; erase them once it has ended"
    assert await asyncio.to_thread(agent_call.wait, 30) == 0, agent_call.errors()[-1500:]
    await cti.settled()
    pop = await desktop(cti, ana)  # the ended call's pop waits for its wrap-up
    assert pop[0]["data"]["pop"]["customer"]["name"] == NAME
    await cti.api("POST", f"/api/interactions/{call_id}/wrapup", token=ana, json={
        "disposition": "resolved", "notes": NOTES, "script_answers": {"availability": ANSWER},
        "follow_up": {"due": "2030-01-02", "task": TASK}})
    await cti.live.save(calls=[live_call])  # what a controller that died mid-call would have left in Redis

    pop = await desktop(cti, ana)
    assert pop[0]["data"]["pop"] is None  # wrapped up: the pop is over (its erasure: tests/unit/test_erasure.py)
    replayed = await desktop(cti, ana, since=0)
    assert replayed[0]["type"] != "snapshot" and NAME in json.dumps(replayed)
    # Everything searched below does hold them before the erasure (else finding nothing would prove nothing).
    url = cti.settings.database_url
    before = await tables_holding(url, NEEDLES)
    assert {"customers.name", "customers.email", "customers.address", "customer_phones.e164",
            "interactions.caller_number", "interactions.caller_name", "interactions.notes",
            "interactions.script_answers", "interactions.follow_up", "contacts.notes", "contacts.script_answers",
            "contacts.follow_up_task"} <= set(before), before
    assert set(await redis_holding(cti.settings.redis_url, cti.settings.redis_prefix, NEEDLES)) == {
        f"{cti.settings.redis_prefix}:call:{call_id}"}

    # Only an admin may erase; an unknown customer is 404.
    supervisor = await cti.api("POST", "/api/users", expect=201, json={"name": "sue", "role": "supervisor"})
    for token in (ana, supervisor["token"]):
        await cti.api("DELETE", f"/api/customers/{customer_id}", token=token, expect=403)
    missing = await cti.api("DELETE", "/api/customers/99999999", expect=404)
    assert missing["error"]["message"] == "no customer '99999999'"

    erased = await cti.api("DELETE", f"/api/customers/{customer_id}")

    assert erased == {"customer_id": customer_id, "erased": {
        "customer": 1, "phones": 1, "contacts": 1, "cases": 0, "orders": 0, "interactions": 2, "dead_letters": 0,
        "screen_pops": 0,  # the wrap-up already ended the pop
        "replay_buffers": 1, "live_calls": 1, "prompt_files": 2, "recordings": 0,
        "live_chats": 0, "survey_answers": 0, "cyberagent_labels": 0}}
    assert await tables_holding(url, NEEDLES) == {}
    # Their customer number stays a key (the anonymised record, the aggregates), and in the audit log, which
    # keeps who saw and erased them by that id, never their content.
    holding_id = {f"{t}.{c}" for (t, c), values in (await stored_in(url)).items()
                  if any(customer_id in v for v in values)}
    assert holding_id == {"customers.customer_id", "contacts.customer_id", "interactions.customer_id",
                          "audit_log.subject_id", "audit_log.detail"}
    assert await redis_holding(cti.settings.redis_url, cti.settings.redis_prefix,
                               [*NEEDLES, customer_id, call_id, served.call_id]) == {}
    assert not legacy.wav.exists() and not legacy.sln16.exists()
    assert list(sounds.glob("*/cti/once/*")) == []
    pop = await desktop(cti, ana)
    assert pop[0]["type"] == "snapshot" and pop[0]["data"]["pop"] is None
    replayed = await desktop(cti, ana, since=0)
    assert [f["type"] for f in replayed] == ["snapshot"]
    assert not [n for n in (*NEEDLES, customer_id) if n in json.dumps(replayed)]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [n for n in (NAME, EMAIL, ADDRESS, NOTES, ANSWER, TASK) if n in logged]
    # The aggregates stay: both calls, their outcomes, the disposition.
    kept = {r.call_id: r for r in await InteractionRepository(cti.db).list(limit=5)}
    assert (kept[served.call_id].outcome, kept[call_id].outcome, kept[call_id].disposition) == (
        "self_service", "answered", "resolved")
    assert kept[call_id].redacted_at is not None and kept[served.call_id].ivr is not None
    assert [p["node"] for p in kept[served.call_id].ivr["path"]] == [p["node"] for p in served.ivr["path"]]

    # Again: nothing left to erase.
    again = await cti.api("DELETE", f"/api/customers/{customer_id}")
    assert again == {"customer_id": customer_id, "erased": dict.fromkeys(erased["erased"], 0)}
