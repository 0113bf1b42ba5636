"""The FAQ knowledge base over HTTP: supervisors and admins write, publish and retire entries; anyone (signed in
or not: the customer portal) searches the published ones and says whether an answer helped, throttled per
address."""

from __future__ import annotations

from typing import Any, Final, Literal, cast

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.errors import InvalidInput, Problem
from cti.faq import (
    ANSWER_LENGTH,
    ENTRY_ID,
    FAQ_STATUSES,
    KEYWORDS,
    PRODUCT_LINES,
    QUESTION_LENGTH,
    FaqEntry,
    FaqHit,
    FaqStatus,
    FaqVersion,
    answer_parts,
    snippet,
)
from cti.services import FAQ_QUERY_LENGTH, MAX_FAQ_HITS, FaqDraft
from cti.web._auth import require_role
from cti.web._bodies import read_object
from cti.web._keys import FAQ
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import IntParam

__all__ = ["FaqCreate", "FaqEdit", "FaqFeedback", "FaqStatusChange", "openapi_paths", "routes", "schemas"]

_STAFF: Final = ("supervisor", "admin")


class FaqTextBody(BaseModel):
    """One language's texts: the answer is plain text, links as bare https:// addresses (no markup)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=QUESTION_LENGTH)
    answer: str = Field(max_length=ANSWER_LENGTH)
    keywords: list[str] = Field(default_factory=list, max_length=KEYWORDS,
                                description="other ways to ask: found by search, never shown")


class FaqEdit(BaseModel):
    """A new version of an entry's texts (id, en or both) and product line."""

    model_config = ConfigDict(extra="forbid")

    texts: dict[Literal["id", "en"], FaqTextBody]
    product_line: str | None = Field(default=None, description=f"one of {', '.join(PRODUCT_LINES)}; none: all")


class FaqCreate(FaqEdit):
    entry_id: str | None = Field(default=None, pattern=f"^{ENTRY_ID.pattern}$",
                                 description="a stable id (default: a generated one)")
    publish: bool = Field(default=False, description="publish at once (default: a draft)")


class FaqStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["draft", "published", "archived"]


class FaqFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (FaqCreate, FaqEdit, FaqFeedback, FaqStatusChange, FaqTextBody)
_ID_PARAM: Final = [path_param("entry_id", pattern=f"^{ENTRY_ID.pattern}$", examples=["billing-due-date"])]
_LIMIT: Final = IntParam("limit", 1, MAX_FAQ_HITS, "at most this many (default 10)")
_FILTERS: Final = [query_param("status", enum=list(FAQ_STATUSES)), query_param("product", enum=list(PRODUCT_LINES)),
                   query_param("lang", enum=["id", "en"])]
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/faq": {
        "get": operation("FAQ entries by id, their latest version (filters: ?status=, ?product=, ?lang= for "
                         "those with a text in that language)", roles="supervisor, admin", params=_FILTERS,
                         errors=(422,)),
        "post": operation("A new FAQ entry (version 1), a draft unless publish; 409 if the id is taken",
                          roles="supervisor, admin", body="FaqCreate", ok=201, errors=(409,)),
    },
    "/api/faq/search": {"get": operation(
        "Search the published FAQ: ?q= (up to 200 characters), ?lang=id|en (default id), ?product=, ?limit=; "
        "best first with a score in [0, 1] (cosine of character n-grams). Throttled per client address (429)",
        roles="anyone, signed in or not",
        public=True, errors=(400, 422, 429),
        params=[query_param("q", maxLength=FAQ_QUERY_LENGTH), query_param("lang", enum=["id", "en"]),
                query_param("product", enum=list(PRODUCT_LINES)), _LIMIT.spec()])},
    "/api/faq/{entry_id}": {
        "get": operation("An FAQ entry: its latest version, status and helpful counters", roles="supervisor, admin",
                         params=_ID_PARAM, errors=(404,)),
        "put": operation("Save the entry's next version (never overwrites; the status stays)",
                         roles="supervisor, admin", body="FaqEdit", params=_ID_PARAM, errors=(404, 409)),
        "delete": operation("Delete the entry and every version of it (archiving keeps them)",
                            roles="supervisor, admin", params=_ID_PARAM, errors=(404,)),
    },
    "/api/faq/{entry_id}/versions": {"get": operation("Every version of the entry, oldest first",
                                                       roles="supervisor, admin", params=_ID_PARAM, errors=(404,))},
    "/api/faq/{entry_id}/status": {"post": operation(
        "Publish (searchable), unpublish (draft) or archive the entry", roles="supervisor, admin",
        body="FaqStatusChange", params=_ID_PARAM, errors=(404,))},
    "/api/faq/{entry_id}/feedback": {"post": operation(
        "Was this answer helpful? Counted once per client address, entry and day (counted: false after that); "
        "published entries only. Throttled per client address (429)", roles="anyone, signed in or not",
        public=True, body="FaqFeedback", params=_ID_PARAM, errors=(404, 429))},
}


def _entry_id(request: web.Request) -> str:
    entry_id = request.match_info["entry_id"]
    if not ENTRY_ID.fullmatch(entry_id):
        raise web.HTTPNotFound(reason=f"no FAQ entry {entry_id!r}")
    return entry_id


def _texts_view(texts: Any) -> dict[str, Any]:
    return {lang: {"question": t.question, "answer": t.answer, "keywords": list(t.keywords)}
            for lang, t in texts.items()}


def _entry_view(entry: FaqEntry) -> dict[str, Any]:
    return {"entry_id": entry.entry_id, "status": entry.status, "version": entry.version,
            "product_line": entry.product_line, "texts": _texts_view(entry.texts), "author": entry.author,
            "created_at": entry.created_at.isoformat(), "updated_at": entry.updated_at.isoformat(),
            "helpful": entry.helpful, "not_helpful": entry.not_helpful}


def _version_view(version: FaqVersion) -> dict[str, Any]:
    return {"entry_id": version.entry_id, "version": version.version, "product_line": version.product_line,
            "texts": _texts_view(version.texts), "author": version.author,
            "created_at": version.created_at.isoformat()}


def _hit_view(hit: FaqHit) -> dict[str, Any]:
    text = hit.entry.texts[hit.lang]
    return {"entry_id": hit.entry.entry_id, "lang": hit.lang, "question": text.question,
            "snippet": snippet(text.answer), "answer": text.answer,
            "answer_parts": [{"kind": kind, "text": part} for kind, part in answer_parts(text.answer)],
            "product_line": hit.entry.product_line, "score": round(hit.score, 4)}


def _draft(body: FaqEdit) -> FaqDraft:
    return FaqDraft(texts={lang: text.model_dump() for lang, text in body.texts.items()},
                    product_line=body.product_line)


def _filter(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise _bad_filter(name, allowed)
    return value


def _bad_filter(name: str, allowed: tuple[str, ...]) -> InvalidInput:
    return InvalidInput(f"cannot list FAQ entries: {name} is one of {', '.join(allowed)}",
                        [Problem(name, f"one of {', '.join(allowed)}", code="unknown_value")])


@routes.get("/api/faq")
async def list_entries(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    status = _filter(request, "status", FAQ_STATUSES)
    entries = await request.app[FAQ].entries(
        status=cast(FaqStatus | None, status),
        product_line=_filter(request, "product", PRODUCT_LINES), lang=_filter(request, "lang", ("id", "en")))
    return web.json_response([_entry_view(entry) for entry in entries])


@routes.post("/api/faq")
async def create_entry(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    body = FaqCreate.model_validate(await read_object(request))
    created = await request.app[FAQ].create(user, _draft(body), entry_id=body.entry_id, publish=body.publish)
    return web.json_response(_entry_view(created), status=201)


@routes.get("/api/faq/search")
async def search(request: web.Request) -> web.Response:
    product = request.query.get("product") or None
    hits = await request.app[FAQ].search(request.query.get("q", ""), lang=request.query.get("lang", "id"),
                                         product_line=product, limit=_LIMIT.read(request, 10),
                                         client=request.remote or "-")
    return web.json_response([_hit_view(hit) for hit in hits])


@routes.get("/api/faq/{entry_id}")
async def get_entry(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    return web.json_response(_entry_view(await request.app[FAQ].get(_entry_id(request))))


@routes.put("/api/faq/{entry_id}")
async def edit_entry(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    entry_id = _entry_id(request)
    body = FaqEdit.model_validate(await read_object(request))
    return web.json_response(_entry_view(await request.app[FAQ].edit(user, entry_id, _draft(body))))


@routes.delete("/api/faq/{entry_id}")
async def delete_entry(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    entry_id = _entry_id(request)
    await request.app[FAQ].delete(entry_id)
    return web.json_response({"entry_id": entry_id, "deleted": True})


@routes.get("/api/faq/{entry_id}/versions")
async def list_versions(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    versions = await request.app[FAQ].versions(_entry_id(request))
    return web.json_response([_version_view(version) for version in versions])


@routes.post("/api/faq/{entry_id}/status")
async def change_status(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    entry_id = _entry_id(request)
    body = FaqStatusChange.model_validate(await read_object(request))
    status: FaqStatus = body.status
    return web.json_response(_entry_view(await request.app[FAQ].set_status(entry_id, status)))


@routes.post("/api/faq/{entry_id}/feedback")
async def feedback(request: web.Request) -> web.Response:
    entry_id = _entry_id(request)
    body = FaqFeedback.model_validate(await read_object(request))
    counted = await request.app[FAQ].feedback(entry_id, helpful=body.helpful, client=request.remote or "-")
    return web.json_response({"entry_id": entry_id, "counted": counted})


