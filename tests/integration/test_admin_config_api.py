"""The routing rules editor and the settings page's API, over HTTP with the real middlewares on SQLite: only admins
edit or read them; invalid rules are refused with every problem by field and change nothing (file, rules in force);
valid ones are written atomically with a backup, put in force and audited; no secret of the settings is shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from cti.acd import load_rules_file, rules_for_service_numbers
from cti.persistence import AuditRepository, Database, UserRepository
from cti.services import Distributor, RoutingRules
from cti.settings import Settings
from cti.web import AUDIT as AUDIT_KEY
from cti.web import ROUTING, _calls, _service, _settings, _users
from tests.api import api_app

ADMIN = "admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"
RULES = """\
# Care first: the sales line is staffed in the afternoon only.
queues:
  care:
    skills: {care: 1}
    wrap_up_seconds: 30
  sales: {}
routes:
  - {name: sales line, when: {service_number: "1500200"}, queue: sales, priority: 5}
default_queue: care
"""


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    db: Database
    distributor: Distributor
    rules_file: Path | None
    tokens: dict[str, str]

    async def call(self, method: str, path: str, *, role: str = "admin", expect: int = 200, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json()
            assert response.status == expect, f"{method} {path}: {response.status} {body}"
            return body


async def _api(tmp_path: Path, rules_file: Path | None, settings: Settings | None = None) -> Api:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users = UserRepository(db)
    await users.ensure_user_token("root", "admin", ADMIN)
    app, distributor = api_app(db, [_service, _users, _calls, _settings], settings=settings)
    source = (lambda: load_rules_file(rules_file)) if rules_file else (
        lambda: rules_for_service_numbers({"1500100": "general"}, "general"))
    distributor.set_rules(source())
    app[ROUTING] = RoutingRules(distributor, source, path=rules_file, audit=app[AUDIT_KEY])
    client = TestClient(TestServer(app))
    await client.start_server()
    api = Api(client, db, distributor, rules_file, {"admin": ADMIN})
    for name, role in (("sue", "supervisor"), ("ana", "agent")):
        created = await api.call("POST", "/api/users", expect=201, json={"name": name, "role": role})
        api.tokens[role] = created["token"]
    return api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    rules_file = tmp_path / "rules" / "routing.yaml"
    rules_file.parent.mkdir()
    rules_file.write_text(RULES)
    api = await _api(tmp_path, rules_file)
    try:
        yield api
    finally:
        await api.client.close()
        await api.db.close()


async def test_only_admins_read_and_edit_the_rules_file_and_the_settings(api: Api) -> None:
    for role in ("agent", "supervisor"):
        await api.call("GET", "/api/routing/file", role=role, expect=403)
        await api.call("PUT", "/api/routing", role=role, expect=403, json={"text": RULES})
        await api.call("POST", "/api/routing/check", role=role, expect=403, json={"text": RULES})
        await api.call("GET", "/api/settings", role=role, expect=403)
    await api.call("GET", "/api/routing", role="supervisor")  # reading the rules in force stays the staff's
    assert api.rules_file is not None and api.rules_file.read_text() == RULES


async def test_the_rules_file_is_read_with_its_comments_and_version(api: Api) -> None:
    file = await api.call("GET", "/api/routing/file")
    assert file["text"] == RULES
    assert file["path"] == str(api.rules_file)
    assert file["in_force"] is True
    assert len(file["version"]) == 64


async def test_malformed_bodies_are_refused(api: Api) -> None:
    async with api.client.put("/api/routing", data="{not json", headers={
            "Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}) as response:
        assert response.status == 400
    await api.call("PUT", "/api/routing", expect=400, json=["queues"])
    refused = await api.call("PUT", "/api/routing", expect=422, json={"yaml": RULES})
    assert {d["field"] for d in refused["error"]["details"]} == {"text", "yaml"}
    refused = await api.call("PUT", "/api/routing", expect=422, json={"text": RULES, "version": "v1"})
    assert [d["field"] for d in refused["error"]["details"]] == ["version"]
    assert api.rules_file is not None and api.rules_file.read_text() == RULES


async def test_invalid_rules_are_refused_by_field_and_change_nothing(api: Api) -> None:
    before = api.distributor.query.rules
    bad = RULES.replace("care: 1", "care: 11").replace("queue: sales", "queue: billing")
    refused = await api.call("PUT", "/api/routing", expect=422, json={"text": bad})
    assert refused["error"]["details"] == [
        {"field": "queues.care.skills", "code": "invalid", "problem": "skill 'care': level 11 is not within 1..10"}]
    fixed_levels = RULES.replace("queue: sales", "queue: billing")
    refused = await api.call("POST", "/api/routing/check", expect=422, json={"text": fixed_levels})
    assert refused["error"]["details"] == [{"field": "rules", "code": "invalid", "problem": "route 'sales line': "
                                                                      "no queue 'billing'"}]
    refused = await api.call("PUT", "/api/routing", expect=422, json={"text": "queues: {care: [1\n"})
    [problem] = refused["error"]["details"]
    assert problem["field"].startswith("line 2, column")
    refused = await api.call("PUT", "/api/routing", expect=422, json={"text": "queues: {care: [1, 2]}"})
    assert [d["field"] for d in refused["error"]["details"]] == ["queues.care"]
    assert api.rules_file is not None and api.rules_file.read_text() == RULES
    assert not api.rules_file.with_name("routing.yaml.bak").exists()
    assert api.distributor.query.rules is before
    assert sorted(p.name for p in api.rules_file.parent.iterdir()) == ["routing.yaml"]  # no temporary file left


async def test_valid_rules_are_written_with_a_backup_put_in_force_and_audited(api: Api) -> None:
    assert api.rules_file is not None
    version = (await api.call("GET", "/api/routing/file"))["version"]
    edited = RULES.replace("priority: 5}", "priority: 7}\n  - {name: vip, when: {value_tier: gold}, queue: care}")
    checked = await api.call("POST", "/api/routing/check", json={"text": edited})
    assert [r["name"] for r in checked["routes"]] == ["sales line", "vip"]
    assert api.rules_file.read_text() == RULES  # a check writes nothing
    saved = await api.call("PUT", "/api/routing", json={"text": edited, "version": version})
    assert [(r["name"], r["priority"]) for r in saved["routes"]] == [("sales line", 7), ("vip", 0)]
    assert api.rules_file.read_text() == edited
    assert api.rules_file.with_name("routing.yaml.bak").read_text() == RULES
    assert sorted(p.name for p in api.rules_file.parent.iterdir()) == ["routing.yaml", "routing.yaml.bak"]
    in_force = await api.call("GET", "/api/routing")
    assert [(r["name"], r["priority"]) for r in in_force["routes"]] == [("sales line", 7), ("vip", 0)]
    assert api.distributor.query.rules.route_for({"service_number": "1500200"}).priority == 7
    file = await api.call("GET", "/api/routing/file")
    assert (file["text"], file["in_force"]) == (edited, True)
    # An edit made from the old version would undo this one: refused, nothing written.
    refused = await api.call("PUT", "/api/routing", expect=409, json={"text": RULES, "version": version})
    assert "has changed since it was read" in refused["error"]["message"]
    assert api.rules_file.read_text() == edited
    await api.client.app[AUDIT_KEY].flush()
    [entry] = await AuditRepository(api.db).search(subject_type="routing_rules", limit=10)
    assert (entry.actor, entry.action, entry.subject_id) == ("root", "change", "routing.yaml")
    assert entry.detail is not None
    assert entry.detail["queues"] == 2 and entry.detail["routes"] == 2
    assert entry.detail["from"] == version and entry.detail["to"] == file["version"]


async def test_a_rules_file_that_cannot_be_written_changes_nothing(api: Api) -> None:
    assert api.rules_file is not None
    before = api.distributor.query.rules
    api.rules_file.with_name("routing.yaml.bak").mkdir()  # where the backup goes: it cannot be replaced
    refused = await api.call("PUT", "/api/routing", expect=503, json={"text": RULES.replace("priority: 5", "")})
    assert refused["error"]["message"] == "the routing rules file cannot be read or written; the server's log says why"
    assert api.rules_file.read_text() == RULES
    assert api.distributor.query.rules is before
    assert sorted(p.name for p in api.rules_file.parent.iterdir()) == ["routing.yaml", "routing.yaml.bak"]


async def test_a_file_edited_on_disk_is_not_in_force_until_reloaded(api: Api) -> None:
    assert api.rules_file is not None
    api.rules_file.write_text(RULES.replace("priority: 5", "priority: 9"))
    assert (await api.call("GET", "/api/routing/file"))["in_force"] is False
    await api.call("POST", "/api/routing/reload")
    assert (await api.call("GET", "/api/routing/file"))["in_force"] is True
    assert api.distributor.query.rules.route_for({"service_number": "1500200"}).priority == 9


async def test_without_a_rules_file_the_rules_cannot_be_edited(tmp_path: Path) -> None:
    api = await _api(tmp_path, None)
    try:
        for method, path, body in (("GET", "/api/routing/file", None), ("PUT", "/api/routing", {"text": RULES}),
                                   ("POST", "/api/routing/check", {"text": RULES})):
            refused = await api.call(method, path, expect=409, json=body)
            assert "CTI_ROUTING_RULES" in refused["error"]["message"]
        assert list(api.distributor.query.rules.queues) == ["general"]
        assert not list(tmp_path.glob("*.yaml*"))  # noqa: ASYNC240 (a test's own directory)
    finally:
        await api.client.close()
        await api.db.close()


async def test_the_settings_are_shown_without_a_secret(tmp_path: Path) -> None:
    secrets = ("db-Pa55word-xyz", "redis-Pa55word", "ari-Pa55word", "softphone-pass-1")
    settings = Settings(admin_token=SecretStr(ADMIN), ari_password=SecretStr(secrets[2]),
                        database_url=f"postgresql+asyncpg://cti:{secrets[0]}@db.example:5432/cti?sslmode=require",
                        redis_url=f"redis://:{secrets[1]}@127.0.0.1:6379/0", timezone="Asia/Makassar",
                        softphones=f"7101:{secrets[3]}")
    api = await _api(tmp_path, None, settings)
    try:
        async with api.client.get("/api/settings", headers={"Authorization": f"Bearer {ADMIN}"}) as response:
            assert response.status == 200
            text = await response.text()
        for secret in (*secrets, ADMIN):
            assert secret not in text
        entries = {e["name"]: e for e in (await api.call("GET", "/api/settings"))["settings"]}
        assert set(entries) == set(Settings.model_fields)
        assert entries["database_url"]["value"] == "postgresql+asyncpg://cti:***@db.example:5432/cti?sslmode=require"
        assert entries["redis_url"]["value"] == "redis://:***@127.0.0.1:6379/0"
        assert entries["softphones"]["value"] == "7101:***"
        assert entries["ari_password"] == {
            "name": "ari_password", "env": "CTI_ARI_PASSWORD", "group": "telephony", "value": None, "secret": True,
            "default": False, "description": ""}
        assert entries["admin_token"]["value"] is None
        assert (entries["timezone"]["value"], entries["timezone"]["default"]) == ("Asia/Makassar", False)
        assert entries["timezone"]["group"] == "locale"
        assert (entries["ring_timeout"]["value"], entries["ring_timeout"]["default"]) == (15.0, True)
        assert entries["ring_timeout"]["description"] == "seconds an agent's phone rings"
        assert entries["queues"]["value"] == {"1500100": "general"}
    finally:
        await api.client.close()
        await api.db.close()
