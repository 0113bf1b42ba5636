"""``cti dead-letters``: an operator lists, shows, replays (with a corrected payload) and discards dead letters in
the database the settings name (SQLite here; the repository is tested on both backends beside it)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti.cli import main
from cti.persistence import Database, DeadLetterRepository, InteractionRepository
from cti.records import InteractionRecord
from cti.services import dead_letter_of

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_an_operator_finds_reads_replays_and_discards_dead_letters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    monkeypatch.setenv("CTI_ARI_PASSWORD", "ari-secret")
    monkeypatch.setenv("CTI_ADMIN_TOKEN", "Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    refused = InteractionRecord(call_id="c1", channel_id="chan-c1", caller_number="0215550123",
                                caller_name="N" * 300, service_number="1500100", queue="general", arrived_at=T0)

    async def seed() -> list[int]:
        async with Database(url) as db:
            await db.upgrade()
            letters = DeadLetterRepository(db)
            return [await letters.add(*dead_letter_of(refused), "StorageRejected: too long"),
                    await letters.add("agent_state", "ana", {"agent_id": "ana"}, "StorageRejected: broken")]

    first, second = asyncio.run(seed())
    assert main(["dead-letters", "list"]) == 0
    out, err = capsys.readouterr()
    assert [line.split("\t")[0::2] for line in out.splitlines()] == [
        [str(first), "interaction", "StorageRejected: too long"],
        [str(second), "agent_state", "StorageRejected: broken"]]
    assert err == "2 dead letter(s)\n"

    assert main(["dead-letters", "show", str(first)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["kind"], shown["key"], shown["payload"]) == ("interaction", "c1", dead_letter_of(refused)[2])

    assert main(["dead-letters", "replay", str(first)]) == 1  # still too long: it stays
    assert capsys.readouterr().out.startswith(
        f"{first}\tnot replayed: interactions.caller_name is longer than 128 characters (300)")
    corrected = tmp_path / "c1.json"
    corrected.write_text(json.dumps({**shown["payload"], "caller_name": "N" * 64}))
    assert main(["dead-letters", "replay", str(first), "--payload", str(corrected)]) == 0
    assert capsys.readouterr().out == f"{first}\treplayed interaction c1\n"

    assert main(["dead-letters", "replay", "--all"]) == 1  # the agent_state letter is no record
    assert "not replayed: not a agent_state record" in capsys.readouterr().out
    assert main(["dead-letters", "discard", str(second), str(first)]) == 1  # the first is gone already
    assert capsys.readouterr().out == f"{second}\tdiscarded\n{first}\tnot discarded: no dead letter {first}\n"

    async def stored() -> tuple[str | None, int]:
        async with Database(url) as db:
            row = await InteractionRepository(db).get("c1")
            return (None if row is None else row.caller_name), len(await DeadLetterRepository(db).list())

    assert asyncio.run(stored()) == ("N" * 64, 0)
