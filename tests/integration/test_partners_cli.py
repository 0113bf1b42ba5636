"""``cti partners ...`` on a real SQLite database: a partner created with its grants, its token printed once and
alone, the grants replaced and listed; unknown operations refused."""

from __future__ import annotations

import asyncio
import json
import secrets
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
    return url


def holder(url: str, token: str) -> UserRecord | None:
    async def look() -> UserRecord | None:
        async with Database(url) as db:
            return await UserRepository(db).user_for_token(token)

    return asyncio.run(look())


def test_a_partner_from_the_command_line(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["partners", "create", "acme", "--operation", "customers.read", "--customer", "10000003",
                 "--segment", "fiber"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == f"{token}\n" and err == "token for partner acme; it is shown only now:\n"
    acme = holder(database_url, token)
    assert acme is not None and acme.role == "partner" and acme.token_expires_at is not None
    assert acme.scope == {"operations": ["customers.read"], "customers": ["10000003"], "segments": ["fiber"]}

    assert main(["partners", "grant", "acme", "--operation", "callbacks.create", "--operation", "customers.read"]) == 0
    assert capsys.readouterr().out == "acme: grants replaced\n"
    assert main(["partners", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["partners"] == [{
        "name": "acme", "disabled": False, "operations": ["callbacks.create", "customers.read"], "customers": [],
        "segments": [], "token_expires_at": acme.token_expires_at.isoformat()}]

    assert main(["partners", "grant", "acme", "--operation", "calls.hangup"]) == 1
    assert "unknown operations: calls.hangup" in capsys.readouterr().err
    assert main(["partners", "grant", "nobody"]) == 1
    assert "no user 'nobody'" in capsys.readouterr().err
