"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``, assembled from the feature modules.

Request schemas come from the pydantic models that validate bodies, so the document cannot drift from
what the server accepts; a test checks that every route is described here.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from pydantic import BaseModel

from cti import __version__

__all__ = ["ApiModule", "openapi_document", "operation", "path_param", "query_param"]

_ERROR = {"$ref": "#/components/responses/Error"}
_OBJ = {"type": "object"}


class ApiModule(Protocol):
    """A feature's HTTP module (``cti.web._wfm``, ...): its routes, their OpenAPI paths and body schemas."""

    routes: web.RouteTableDef
    openapi_paths: dict[str, dict[str, Any]]
    schemas: tuple[type[BaseModel], ...]


def operation(summary: str, *, roles: str, body: str | None = None, ok: int = 200, public: bool = False,
        params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Allowed roles: {roles}.",
        "responses": {str(ok): {"description": "OK", "content": {"application/json": {"schema": _OBJ}}}},
    }
    if public:
        op["security"] = []
    else:
        op["responses"].update({"401": _ERROR, "403": _ERROR, "429": _ERROR})
    for status in errors:
        op["responses"][str(status)] = _ERROR
    if body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
        op["responses"].update({"400": _ERROR, "422": _ERROR})
    if params:
        op["parameters"] = params
    return op


def path_param(name: str, **schema: Any) -> dict[str, Any]:
    """A string in the path; ``schema`` adds what the fuzzer and clients should know (``pattern``, ``maxLength``).
    Numbers are :class:`cti.web._params.IntParam`, which also reads them."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", **schema}}


def query_param(name: str, **schema: Any) -> dict[str, Any]:
    """An optional string in the query, as :func:`path_param`."""
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string", **schema}}


def openapi_document(modules: tuple[ApiModule, ...]) -> dict[str, Any]:
    """The document for every route of ``modules`` (each feature module describes its own paths and bodies)."""
    paths: dict[str, dict[str, Any]] = {}
    models: list[type[BaseModel]] = []
    for module in modules:
        for path, operations in module.openapi_paths.items():
            paths.setdefault(path, {}).update(operations)  # two features may serve one path by method
        models.extend(module.schemas)
    schemas = {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}")
               for model in models}
    for schema in list(schemas.values()):
        schemas.update(schema.pop("$defs", {}))  # nested models become components of their own
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "code", "message"],
        "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                       "params": {"type": "object"}, "details": {}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "cti contact-center API", "version": __version__},
        # Machines send a bearer token; people signed in send the session cookie (and X-CSRF-Token on changes).
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "cti_session"}},
            "schemas": schemas,
            "responses": {"Error": {"description": "Error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
