"""Call scripts over HTTP: everyone reads the active scripts; supervisors and admins save and activate versions."""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.scripting import RenderBudgetExceeded, ScriptError, ScriptSummary, ScriptVersion
from cti.web._auth import require_role
from cti.web._bodies import read_object
from cti.web._errors import json_error
from cti.web._keys import SCRIPTS
from cti.web._openapi import operation, path_param
from cti.web._params import MAX_SQL_INT, IntParam

__all__ = ["ScriptActivate", "ScriptSave", "openapi_paths", "routes", "schemas"]

_STAFF: Final = ("supervisor", "admin")
_SCRIPT_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class ScriptSave(BaseModel):
    """A new version of a script. ``definition`` is the script as in docs/scripting.md (its ``id`` may be left out)."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]
    activate: bool = Field(default=True, description="make this version the one calls get")


class ScriptActivate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_SQL_INT)


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (ScriptActivate, ScriptSave)
_ID_PARAM: Final = [path_param("script_id", pattern=f"^{_SCRIPT_ID.pattern}$", examples=["greeting"])]
_VERSION: Final = IntParam("version", 1, MAX_SQL_INT, "a version other than the active one (supervisor, admin)")
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/scripts": {"get": operation("Call scripts: id, title, latest and active version",
                                      roles="any authenticated user")},
    "/api/scripts/{script_id}": {
        "get": operation("A script's active version, or the given ?version= (supervisor, admin)",
                         roles="any authenticated user", params=[*_ID_PARAM, _VERSION.spec()],
                         errors=(400, 404)),
        "put": operation("Save a new version of the script (never overwrites); invalid definitions get 422 "
                         "with every problem in details, and so do scripts that pass their rendering budget "
                         "when tried with representative data", roles="supervisor, admin", body="ScriptSave",
                         ok=201, params=_ID_PARAM, errors=(409,)),
    },
    "/api/scripts/{script_id}/versions": {"get": operation("Every version of the script, oldest first",
                                                           roles="supervisor, admin", params=_ID_PARAM,
                                                           errors=(404,))},
    "/api/scripts/{script_id}/activate": {"post": operation(
        "Make a version the one calls get; 422 if it passes its rendering budget", roles="supervisor, admin",
        body="ScriptActivate", params=_ID_PARAM, errors=(404,))},
}


def _script_id(request: web.Request) -> str:
    """The id in the path; one no script can have is simply not found."""
    script_id = request.match_info["script_id"]
    if not _SCRIPT_ID.fullmatch(script_id):
        raise web.HTTPNotFound(reason=f"no script {script_id!r}")
    return script_id


def _over_budget(exc: RenderBudgetExceeded) -> web.Response:
    """422: which limit, in which text, with which data (the message says it whole; details for forms)."""
    return json_error(422, str(exc), code="script_over_budget",
                      details=[{"field": exc.where or "definition", "code": "over_budget", "problem": exc.reason}])


def _version_view(version: ScriptVersion, *, definition: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"script_id": version.script_id, "version": version.version, "active": version.active,
                            "author": version.author, "created_at": version.created_at.isoformat()}
    if definition:
        view["definition"] = version.definition
    return view


def _summary_view(summary: ScriptSummary) -> dict[str, Any]:
    return {"script_id": summary.script_id, "title": summary.title, "latest_version": summary.latest_version,
            "active_version": summary.active_version}


@routes.get("/api/scripts")
async def list_scripts(request: web.Request) -> web.Response:
    return web.json_response([_summary_view(summary) for summary in await request.app[SCRIPTS].summaries()])


@routes.get("/api/scripts/{script_id}")
async def get_script(request: web.Request) -> web.Response:
    script_id = _script_id(request)
    if "version" in request.query:
        require_role(request, *_STAFF)  # other versions are drafts or history: not for the desktop
    version = _VERSION.read(request)
    found = await request.app[SCRIPTS].get(script_id, version)
    if found is None:
        what = f"version {version}" if version is not None else "active version"
        raise web.HTTPNotFound(reason=f"script {script_id!r} has no {what}")
    return web.json_response(_version_view(found))


@routes.get("/api/scripts/{script_id}/versions")
async def list_versions(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    script_id = _script_id(request)
    versions = await request.app[SCRIPTS].versions(script_id)
    if not versions:
        raise web.HTTPNotFound(reason=f"no script {script_id!r}")
    return web.json_response([_version_view(version, definition=False) for version in versions])


@routes.put("/api/scripts/{script_id}")
async def save_script(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    script_id = request.match_info["script_id"]
    if not _SCRIPT_ID.fullmatch(script_id):
        return json_error(422, "invalid script id", details=[
            {"field": "script_id", "code": "pattern", "problem": "use 1 to 64 lowercase letters, digits, '_' or '-'"}])
    body = ScriptSave.model_validate(await read_object(request))
    try:
        saved = await request.app[SCRIPTS].save(body.definition, author=user.name, script_id=script_id,
                                           activate=body.activate)
    except ScriptError as exc:
        return json_error(422, str(exc), code="invalid_script", details=[
            {"field": problem.where or "definition", "code": "invalid_script", "problem": problem.message}
            for problem in exc.problems])
    except RenderBudgetExceeded as exc:
        return _over_budget(exc)
    return web.json_response(_version_view(saved), status=201)


@routes.post("/api/scripts/{script_id}/activate")
async def activate_script(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    script_id = _script_id(request)
    body = ScriptActivate.model_validate(await read_object(request))
    try:
        activated = await request.app[SCRIPTS].activate(script_id, body.version)
    except RenderBudgetExceeded as exc:
        return _over_budget(exc)
    if activated is None:
        raise web.HTTPNotFound(reason=f"script {script_id!r} has no version {body.version}")
    return web.json_response(_version_view(activated))
