"""The error middleware answers each kind of :mod:`cti.errors` with its status, in the one error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import UnknownAgent
from cti.ari import AriHTTPError
from cti.crm import CrmInputError, CsvFormatError
from cti.errors import Conflict, CtiError, InvalidInput, NotFound, Problem, Unavailable
from cti.persistence import StorageConflict, StorageError
from cti.web import error_middleware

Client = TestClient[web.Request, web.Application]

RAISED: dict[str, Callable[[], Exception]] = {
    "not-found": lambda: NotFound("no customer '42'"),
    "conflict": lambda: Conflict("the phone is taken"),
    "invalid": lambda: InvalidInput("cannot do it", [Problem("email", "not an email address"), Problem("name", "x")]),
    "unavailable": lambda: Unavailable("Redis is away"),
    "storage": lambda: StorageError("cannot read: connection refused by 10.0.0.7"),
    "asterisk": lambda: AriHTTPError(500, "POST", "/channels/abc-123/play", "Internal Server Error"),
    "storage-conflict": lambda: StorageConflict("user 'ana' is already in use"),
    "crm-input": lambda: CrmInputError("create customer", [Problem("email", "not an email address: 'x@'")]),
    "csv": lambda: CsvFormatError("the file is empty"),
    "unknown-agent": lambda: UnknownAgent("ana"),
    "other": lambda: CtiError("a kind of its own"),
}


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async def fail(request: web.Request) -> web.Response:
        raise RAISED[request.match_info["kind"]]()

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/{kind}", fail)
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def answer(client: Client, kind: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/{kind}")
    body: dict[str, Any] = (await response.json())["error"]
    assert body["status"] == response.status
    return response.status, body


async def test_each_kind_has_its_status(client: Client) -> None:
    assert await answer(client, "not-found") == (404, {"status": 404, "code": "not_found",
                                                       "message": "no customer '42'"})
    assert await answer(client, "conflict") == (409, {"status": 409, "code": "conflict",
                                                      "message": "the phone is taken"})
    assert await answer(client, "invalid") == (422, {"status": 422, "code": "invalid_input", "message": "cannot do it",
                                                     "details": [
        {"field": "email", "code": "invalid", "problem": "not an email address"},
        {"field": "name", "code": "invalid", "problem": "x"}]})
    assert (await answer(client, "unavailable"))[0] == 503
    assert await answer(client, "unknown-agent") == (404, {  # the specific mappings stay, with their codes
        "status": 404, "code": "agent_not_found", "params": {"agent_id": "ana"}, "message": "no agent 'ana'"})
    assert await answer(client, "other") == (500, {
        "status": 500, "code": "internal", "message": "internal error; it has been logged"})


async def test_storage_errors_keep_their_answers_and_input_errors_are_never_503(client: Client) -> None:
    # The database's own words (addresses, SQL) stay in the log.
    assert await answer(client, "storage") == (503, {
        "status": 503, "code": "unavailable", "message": "the database is unavailable; try again shortly"})
    assert await answer(client, "asterisk") == (503, {
        "status": 503, "code": "unavailable", "message": "Asterisk is unavailable; try again shortly"})
    assert await answer(client, "storage-conflict") == (409, {"status": 409, "code": "conflict",
                                                                  "message": "user 'ana' is already in use"})
    assert await answer(client, "crm-input") == (422, {
        "status": 422, "code": "invalid_input", "message": "cannot create customer: email: not an email address: 'x@'",
        "details": [{"field": "email", "code": "invalid", "problem": "not an email address: 'x@'"}]})
    assert (await answer(client, "csv"))[0] == 422
