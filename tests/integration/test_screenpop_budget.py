"""The screen pop with a script over its rendering budget, on real SQLite and PostgreSQL databases: the pop
arrives with the caller's record and says the script could not be shown; the reason is logged."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cti.acd import AgentChanged, ContactCenter, Offer, WorkChanged, WorkItem
from cti.persistence import CustomerRepository, Database, ScriptRepository
from cti.services import CenterView, CommandBus, Distributor, ScreenPop, ScriptLibrary
from cti.web import Hub
from tests.support import migrated_database

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
NOT_SHOWN = "the script could not be shown: it is over its rendering budget; a supervisor needs to correct it"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def definition(script_id: str, text: str) -> dict[str, Any]:
    """A catch-all script of the highest priority, so every call gets it."""
    return {"id": script_id, "title": {"id": "Uji", "en": "Probe"}, "priority": 100, "steps": [
        {"id": "hello", "text": {"id": "Halo {{ customer.name }}", "en": "Hello {{ customer.name }}"}},
        {"id": "more", "text": {"id": text, "en": text}}]}


async def pop_for(db: Database, caller_number: str) -> tuple[ScreenPop, list[dict[str, Any]]]:
    """A call from ``caller_number`` offered to the one ready agent; the offers on her desktop's topic."""
    hub, core = Hub(), ContactCenter()
    # Counted limits only (no timer): what stops the render is the same on any machine.
    screenpop = ScreenPop(hub, CustomerRepository(db), ScriptRepository(db), CenterView(core, lambda: NOW),
                          clock=lambda: NOW, timer=None)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number=caller_number,
                                service_number="1500100", queue="", arrived_at=NOW))
    await screenpop.drain()
    frames = hub.topic("agent:ana").since(0) or []
    return screenpop, [json.loads(frame.payload)["data"] for frame in frames if frame.type == "offer"]


async def test_a_script_saved_before_budgets_costs_the_pop_its_script_only(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    rina = await CustomerRepository(db).create_blank_customer("0215550123", name="Rina Wulandari")
    doubling = "{% set s = customer.name %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}"
    await ScriptRepository(db).save(definition("doubling", doubling), author="before-budgets")  # no trial then

    with caplog.at_level(logging.WARNING, logger="cti.services.screenpop"):
        screenpop, [pop] = await pop_for(db, "0215550123")

    assert (pop["call_id"], pop["customer"]["customer_id"], pop["customer"]["name"]) == (
        "c1", rina.customer_id, "Rina Wulandari")
    assert pop["script"] == {"script_id": "doubling", "title": "Uji", "steps": [], "error": NOT_SHOWN, "factors": {
        "reason": None, "value_tier": None, "cross_sell": False, "promotion": False, "billing": "none"}}
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "cti.services.screenpop"] == [
        ("WARNING", "call c1: script 'doubling' could not be shown: the script is over its rendering budget: "
                    "more than 100000 characters of text")]
    assert screenpop.scripts_not_shown == 1
    with pytest.raises(KeyError):  # nothing to follow: the desktop's script frames hear "no script"
        screenpop.script_progress("ana", "c1", {})


async def test_a_script_that_blows_up_on_one_customer_s_data_falls_back_for_that_pop(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # Fine with the trial's customer (11 letters: 121 turns); a 100-letter name makes 10,000 (30,000 steps).
    squared = "{% for a in customer.name %}{% for b in customer.name %}.{% endfor %}{% endfor %}"
    library = ScriptLibrary(ScriptRepository(db), timer=None)
    saved = await library.save(definition("squared", squared), author="supervisor1", script_id="squared")
    assert (saved.version, saved.active) == (1, True)
    await CustomerRepository(db).create_blank_customer("0215550123", name="Rina" * 25)

    with caplog.at_level(logging.WARNING, logger="cti.services.screenpop"):
        _, [pop] = await pop_for(db, "0215550123")

    assert (pop["customer"]["name"], pop["script"]["steps"], pop["script"]["error"]) == ("Rina" * 25, [], NOT_SHOWN)
    assert [r.getMessage() for r in caplog.records if r.name == "cti.services.screenpop"] == [
        "call c1: script 'squared' could not be shown: the script is over its rendering budget: "
        "more than 20000 steps (loops too long or nested?)"]


async def test_a_script_within_its_budget_is_shown(db: Database) -> None:
    await CustomerRepository(db).create_blank_customer("0215550123", name="Rina Wulandari")
    await ScriptRepository(db).save(definition("fine", "{% for a in [1, 2, 3] %}{{ a }}{% endfor %}"),
                                    author="supervisor1")
    screenpop, [pop] = await pop_for(db, "0215550123")
    assert [(step["step_id"], step["text"]) for step in pop["script"]["steps"]] == [
        ("hello", "Halo Rina Wulandari"), ("more", "123")]
    assert screenpop.scripts_not_shown == 0
    assert "error" not in pop["script"]
