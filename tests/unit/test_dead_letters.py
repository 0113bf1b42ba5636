"""The journal sets aside what the database refuses and keeps writing; dead letters replay (on the fakes; the
real databases are tests/integration/test_dead_letters.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from cti.acd import AgentChanged, WorkState
from cti.records import AgentStateRecord
from cti.services import (
    DeadLetterService,
    InvalidDeadLetter,
    Journal,
    UnknownDeadLetter,
    dead_letter_of,
    interaction_record,
    record_of,
)
from tests.unit.fakes import FakeAgents, FakeDeadLetters, FakeInteractions, FakeLive
from tests.unit.test_services import NOW, call, floor


async def test_a_refused_record_is_set_aside_and_the_records_after_it_are_written(
        caplog: pytest.LogCaptureFixture) -> None:
    distributor, _ = floor()
    interactions, letters = FakeInteractions(), FakeDeadLetters()
    journal = Journal(FakeLive(), interactions, FakeAgents(), distributor.query, dead_letters=letters,
                      retry_max=0.01)
    journal.start()
    try:
        first, long, after = call("c1"), call("c2"), call("c3")
        long.caller_name = "x" * 300
        with caplog.at_level(logging.ERROR, "cti.services"):
            for item in (first, long, after):
                journal.record(item)
            await journal.flush(timeout=5)
            journal.record(call("c4"))  # and in a later batch too
            await journal.flush(timeout=5)
    finally:
        await journal.close()
    assert sorted(interactions.rows) == ["c1", "c3", "c4"]
    assert journal.db_failures == 0  # nothing retried: a refusal is not an outage
    assert journal.dead_letters == {"interaction": 1, "agent_state": 0}
    [letter] = letters.letters.values()
    assert (letter.kind, letter.key) == ("interaction", "c2")
    assert letter.payload == dead_letter_of(interaction_record(long))[2]
    assert letter.payload["caller_name"] == "x" * 300 and letter.payload["arrived_at"] == NOW.isoformat()
    assert letter.error == "Refused: interactions.caller_name is longer than 128 characters"
    assert [r.getMessage() for r in caplog.records] == [
        "interaction of c2 refused by the database, set aside as dead letter 1: "
        "Refused: interactions.caller_name is longer than 128 characters"]


async def test_a_batch_is_written_in_one_transaction_and_an_outage_retries_all_of_it() -> None:
    distributor, _ = floor()
    interactions = FakeInteractions()
    interactions.failures = 1  # the first try of the batch meets the database away
    journal = Journal(FakeLive(), interactions, FakeAgents(), distributor.query, dead_letters=FakeDeadLetters(),
                      retry_max=0.01)
    journal.start()
    try:
        first = call("c1")
        for item in (first, call("c2"), call("c3")):
            journal.record(item)
        journal.record(replace(first, caller_name="Budi"))  # the same call later: its last snapshot is kept
        await journal.flush(timeout=5)
    finally:
        await journal.close()
    assert (journal.db_failures, interactions.many_saves, len(interactions.saves)) == (1, 1, 3)
    assert sorted(interactions.rows) == ["c1", "c2", "c3"]
    assert interactions.rows["c1"].caller_name == "Budi"


async def test_an_outage_while_setting_aside_loses_nothing() -> None:
    distributor, _ = floor()
    interactions, letters = FakeInteractions(), FakeDeadLetters()
    journal = Journal(FakeLive(), interactions, FakeAgents(), distributor.query, dead_letters=letters,
                      retry_max=0.01)
    letters.down = True
    journal.start()
    try:
        long = call("c2")
        long.caller_name = "x" * 300
        journal.record(long)
        journal.record(call("c3"))
        await asyncio.sleep(0.1)
        assert journal.db_failures > 0 and interactions.rows == {} and letters.letters == {}
        letters.down = False
        await journal.flush(timeout=5)
    finally:
        await journal.close()
    assert [(letter.letter_id, letter.key) for letter in letters.letters.values()] == [(1, "c2")]
    assert list(interactions.rows) == ["c3"]
    assert journal.dead_letters["interaction"] == 1


async def test_an_unexpected_error_sets_the_record_aside_instead_of_stopping_the_journal() -> None:
    distributor, _ = floor()

    class Broken(FakeAgents):
        async def record_state(self, record: AgentStateRecord) -> None:
            if record.reason == "boom":
                raise OverflowError("Python int too large to convert to SQLite INTEGER")
            await super().record_state(record)

    agents, letters, interactions = Broken(), FakeDeadLetters(), FakeInteractions()
    journal = Journal(FakeLive(), interactions, agents, distributor.query, dead_letters=letters)
    journal.start()
    try:
        distributor.register_agent("ana", "Ana")
        distributor.login("ana", "7001", ready=False)
        journal.agent_changed(AgentChanged(distributor.set_not_ready("ana", "boom")), distributor)
        await journal.flush(timeout=5)
        journal.agent_changed(AgentChanged(distributor.set_ready("ana")), distributor)
        journal.record(call("c1"))
        await journal.flush(timeout=5)
    finally:
        await journal.close()
    [letter] = letters.letters.values()
    assert (letter.kind, letter.key, letter.payload["reason"]) == ("agent_state", "ana", "boom")
    assert letter.error == "OverflowError: Python int too large to convert to SQLite INTEGER"
    assert [s.state for s in agents.states] == ["ready"]
    assert list(interactions.rows) == ["c1"]


def test_a_dead_letter_holds_the_record_as_json_and_gives_it_back() -> None:
    item = call("c1")
    item.state = WorkState.ENDED
    item.ended_at = NOW + timedelta(minutes=2)
    record = interaction_record(item)
    kind, key, payload = dead_letter_of(record)
    assert (kind, key) == ("interaction", "c1")
    assert payload["ended_at"] == "2026-12-07T03:02:00+00:00"
    assert record_of(kind, payload) == record
    state = AgentStateRecord("ana", "not_ready", "lunch", "7001", NOW)
    assert record_of(*dead_letter_of(state)[::2]) == state
    with pytest.raises(InvalidDeadLetter, match="not fields of a interaction record: colour"):
        record_of("interaction", {**payload, "colour": "red"})
    with pytest.raises(InvalidDeadLetter, match=r"interaction\.arrived_at is not an ISO 8601 time"):
        record_of("interaction", {**payload, "arrived_at": "yesterday"})
    with pytest.raises(InvalidDeadLetter, match="not a interaction record"):
        record_of("interaction", {"call_id": "c1"})
    with pytest.raises(InvalidDeadLetter, match="kind 'parcel'"):
        record_of("parcel", payload)


async def test_replaying_saves_the_record_unless_its_call_was_saved_since() -> None:
    interactions, letters = FakeInteractions(), FakeDeadLetters()
    service = DeadLetterService(letters, interactions, FakeAgents())
    refused = interaction_record(call("c1"))
    first = await letters.add(*dead_letter_of(replace(refused, caller_name="x" * 300)), "too long")
    fixed = {**dead_letter_of(refused)[2], "caller_name": "x" * 64}
    with pytest.raises(Exception, match="longer than 128"):
        await service.replay(first)
    assert list(letters.letters) == [first]  # refused again: it stays
    letter, saved = await service.replay(first, fixed)
    assert (letter.letter_id, saved, letters.letters) == (first, True, {})
    assert interactions.rows["c1"].caller_name == "x" * 64

    stale = await letters.add(*dead_letter_of(refused), "refused")
    await interactions.save(replace(refused, outcome="answered"))  # a later snapshot of the call landed
    letter, saved = await service.replay(stale)
    assert (letter.letter_id, saved) == (stale, False)
    assert interactions.rows["c1"].outcome == "answered" and letters.letters == {}
    with pytest.raises(UnknownDeadLetter):
        await service.replay(stale)
    with pytest.raises(UnknownDeadLetter):
        await service.discard(stale)
