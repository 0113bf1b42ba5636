"""``cti users ...`` on a real SQLite database: create, list, rotate, disable, enable, delete; tokens printed once,
alone on standard output."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.cli import main
from cti.persistence import Database, UserRepository
from cti.records import UserRecord


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    monkeypatch.setenv("CTI_ARI_PASSWORD", "ari-secret")
    monkeypatch.setenv("CTI_ADMIN_TOKEN", secrets.token_urlsafe(32))
    monkeypatch.setenv("CTI_TOKEN_TTL_DAYS", "7")
    return url


def holder(url: str, token: str) -> UserRecord | None:
    async def look() -> UserRecord | None:
        async with Database(url) as db:
            return await UserRepository(db).user_for_token(token)

    return asyncio.run(look())


def test_the_user_lifecycle_from_the_command_line(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "create", "sue", "--role", "supervisor"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == f"{token}\n" and len(token) >= 32
    assert err.startswith("token for sue (supervisor), expires ") and err.endswith("; it is shown only now:\n")
    sue = holder(database_url, token)
    assert sue is not None and sue.token_expires_at is not None
    assert timedelta(days=6, hours=23) < sue.token_expires_at - datetime.now(UTC) <= timedelta(days=7)

    assert main(["users", "rotate", "sue", "--json"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert rotated["user"]["name"] == "sue" and rotated["token"] != token
    assert holder(database_url, token) is None
    assert holder(database_url, rotated["token"]) is not None

    assert main(["users", "disable", "sue"]) == 0
    assert capsys.readouterr().out == "sue: disabled\n"
    assert holder(database_url, rotated["token"]) is None
    assert main(["users", "enable", "sue", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["disabled"] is False
    assert holder(database_url, rotated["token"]) is not None

    assert main(["users", "list", "--json"]) == 0
    assert [(u["name"], u["role"], u["disabled"]) for u in json.loads(capsys.readouterr().out)["users"]] == [
        ("sue", "supervisor", False)]
    assert main(["users", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["name", "role", "agent", "state", "token", "expires"]
    assert table[1].split()[:4] == ["sue", "supervisor", "-", "enabled"]

    assert main(["users", "delete", "sue"]) == 0
    assert capsys.readouterr().out == "sue: deleted\n"
    assert holder(database_url, rotated["token"]) is None
    assert main(["users", "delete", "sue"]) == 1
    assert capsys.readouterr().err == "cti: no user 'sue'\n"
    assert main(["users", "create", "ana", "--role", "agent", "--agent-id", "ghost"]) == 1
    assert capsys.readouterr().err == "cti: no agent 'ghost'\n"
