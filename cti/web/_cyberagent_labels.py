"""Supervisors label what the virtual agent could not answer, over HTTP: the questions it handed over or answered
unsure (from the chats' stored transcripts, within the supervisor's scope), a label for each, and undoing one.

The agent answers a labelled question (or one worded nearly the same) as labelled from the next chat message on,
with the FAQ entry as the source (:class:`cti.services.CyberAgentLabels` says who sees what and what is kept).
"""

from __future__ import annotations

from typing import Any, Final, Literal, cast

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.cyberagent import INTENTS, LABEL_KINDS, AskedQuestion, QuestionLabel
from cti.errors import InvalidInput, Problem
from cti.services import MAX_QUESTIONS, QUESTION_DAYS, LabelState
from cti.web._audit import source_of
from cti.web._auth import require_role
from cti.web._bodies import read_object
from cti.web._keys import CYBERAGENT_LABELS
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import MAX_SQL_INT, IntParam

__all__ = ["QuestionLabelBody", "openapi_paths", "routes", "schemas"]

_STAFF: Final = ("supervisor", "admin")
_STATES: Final = ("open", "labelled", "all")
_DAYS: Final = IntParam("days", 1, 366, f"chats stored in the last this many days (default {QUESTION_DAYS})")
_LIMIT: Final = IntParam("limit", 1, MAX_QUESTIONS, f"at most this many (default {MAX_QUESTIONS})")
_SEQ: Final = IntParam("seq", 1, MAX_SQL_INT, "the customer's message's place in the chat's transcript",
                       where="path")
_QUESTION: Final = [path_param("call_id", maxLength=64), _SEQ.spec()]


class QuestionLabelBody(BaseModel):
    """What answers the question: an FAQ entry (``faq``, its id as target), an intent (``intent``: order_status,
    balance or purchase), no FAQ entry yet (``new_faq``) or nothing the agent should answer (``ignore``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["faq", "intent", "new_faq", "ignore"]
    target: str | None = Field(default=None, max_length=64,
                               description=f"the FAQ entry's id (faq) or one of {', '.join(INTENTS)} (intent)")


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (QuestionLabelBody,)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/cyberagent/questions": {"get": operation(
        "Customers' questions the virtual agent handed over (unsure) or answered with low confidence, from the "
        "chats stored in the last ?days= days whose interaction is in the caller's scope, newest first, each with "
        "its label if it has one (?state=open, the default: not labelled yet; labelled; all; ?lang=id|en). "
        "Audited as reads of those chats", roles="supervisor, admin",
        params=[query_param("state", enum=list(_STATES)), query_param("lang", enum=["id", "en"]), _DAYS.spec(),
                _LIMIT.spec()], errors=(400,))},
    "/api/cyberagent/questions/{call_id}/{seq}/label": {
        "put": operation(
            "Label the question (replacing its label): the virtual agent answers it, and questions worded nearly "
            "the same, as labelled from now on (an FAQ entry: published, in the question's language). Audited",
            roles="supervisor, admin (the chat in their scope)", body="QuestionLabelBody", params=_QUESTION,
            errors=(404,)),
        "delete": operation("Undo the question's label: the virtual agent forgets it at once. Audited",
                            roles="supervisor, admin (the chat in their scope)", params=_QUESTION, errors=(404,)),
    },
}


def _label_view(label: QuestionLabel | None) -> dict[str, Any] | None:
    if label is None:
        return None
    return {"label_id": label.label_id, "kind": label.kind, "target": label.target, "labelled_by": label.labelled_by,
            "labelled_at": label.labelled_at.isoformat(), "learnt": label.learnt() is not None}


def _question_view(question: AskedQuestion) -> dict[str, Any]:
    return {"call_id": question.call_id, "seq": question.seq, "lang": question.lang, "text": question.text,
            "at": question.at.isoformat(), "reply": question.reply,
            "confidence": None if question.confidence is None else round(question.confidence, 3),
            "answered": question.answered, "queue": question.queue, "label": _label_view(question.label)}


def _choice(request: web.Request, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = request.query.get(name) or default
    if value is not None and value not in allowed:
        raise InvalidInput(f"cannot list the questions: {name} is one of {', '.join(allowed)}",
                           [Problem(name, f"one of {', '.join(allowed)}", code="unknown_value")])
    return value


@routes.get("/api/cyberagent/questions")
async def list_questions(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    state = cast(LabelState, _choice(request, "state", _STATES, "open"))
    found = await request.app[CYBERAGENT_LABELS].questions(
        user, state=state, lang=_choice(request, "lang", ("id", "en"), None), days=_DAYS.read(request, QUESTION_DAYS),
        limit=_LIMIT.read(request, MAX_QUESTIONS), source=source_of(request))
    return web.json_response({"questions": [_question_view(q) for q in found], "kinds": list(LABEL_KINDS),
                              "intents": list(INTENTS)})


@routes.put("/api/cyberagent/questions/{call_id}/{seq}/label")
async def label_question(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    call_id, seq = request.match_info["call_id"], _SEQ.read(request, 0)
    body = QuestionLabelBody.model_validate(await read_object(request))
    label = await request.app[CYBERAGENT_LABELS].label(user, call_id, seq, body.kind, body.target,
                                                       source=source_of(request))
    return web.json_response({"call_id": call_id, "seq": seq, "label": _label_view(label)})


@routes.delete("/api/cyberagent/questions/{call_id}/{seq}/label")
async def unlabel_question(request: web.Request) -> web.Response:
    user = require_role(request, *_STAFF)
    call_id, seq = request.match_info["call_id"], _SEQ.read(request, 0)
    await request.app[CYBERAGENT_LABELS].unlabel(user, call_id, seq, source=source_of(request))
    return web.json_response({"call_id": call_id, "seq": seq, "label": None})
