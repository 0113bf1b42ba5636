"""``cti wfm schedule --save``: the solved schedule lands in the database the settings name (SQLite here)."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest

from cti.cli import main
from cti.persistence import Database, WfmRepository


def test_schedule_save_stores_it_in_the_configured_database(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    monkeypatch.setenv("CTI_ARI_PASSWORD", "ari-secret")
    monkeypatch.setenv("CTI_ADMIN_TOKEN", secrets.token_urlsafe(32))
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({
        "name": "saved plan", "start": "2024-04-01T00:00:00+07:00", "interval_minutes": 60,
        "requirements": {"sales": [0] * 8 + [1] * 8 + [0] * 8},
        "patterns": [{"name": "day8", "minutes": 480, "starts": [480]}],
        "agents": [{"agent_id": "ani", "skills": ["sales"]}]}))
    assert main(["wfm", "schedule", "--input", str(path), "--save", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schedule_id"] == 1

    async def stored() -> list[str]:
        async with Database(url) as db:
            return [s.name for s in await WfmRepository(db).list_schedules()]

    assert asyncio.run(stored()) == ["saved plan"]
