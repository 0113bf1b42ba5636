"""Customer satisfaction surveys over HTTP: supervisors' questionnaires, the customer's answers through their
survey link, a customer's survey profile, and the survey report.

The customer's routes (``/api/survey/open``, ``/api/survey/answer``) are public: the link's token, sent in the
body (never in a URL: the page reads it from the link's fragment), is the only authority, for that one survey
(:class:`cti.services.SurveyService`). A token that names no survey is 404; a spent or expired one 409 with the
codes ``survey_answered`` and ``survey_expired``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any, Final, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.errors import NotFound
from cti.services import Scope, scope_of
from cti.surveys import DIMENSIONS, survey_csv
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_object
from cti.web._errors import coded
from cti.web._keys import AUDIT, CUSTOMERS, PORTAL_THROTTLES, POST_CALL_SURVEYS, SETTINGS, SURVEYS
from cti.web._openapi import operation, path_param, query_param

__all__ = ["AnswerBody", "OpenBody", "QuestionnaireBody", "openapi_paths", "routes", "schemas"]

_STAFF: Final = ("supervisor", "admin")
T = TypeVar("T")
MAX_REPORT_DAYS: Final = 92


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_Answer = bool | Annotated[int, Field(ge=0, le=10)] | Annotated[str, Field(max_length=2000)] | None
"""A rating, a yes/no, a choice's value or a text; the questionnaire decides which (``invalid_answer``)."""


class OpenBody(_Body):
    token: str = Field(min_length=1, max_length=200, description="the token of the survey link (after its #)")


class AnswerBody(_Body):
    token: str = Field(min_length=1, max_length=200)
    answers: dict[str, _Answer] = Field(
        max_length=20, description="question key -> a rating 1-5, true/false, a choice's value or a text; a "
                                   "required question left out makes the answer partial")


class QuestionnaireBody(_Body):
    """A questionnaire (docs/supervisors.md, "Surveys"): checked as a whole, every problem at once."""

    title: dict[str, str] = Field(description='{"id": ..., "en": ...}')
    segment: dict[str, str | None] = Field(default_factory=dict,
                                           description="value_tier, product_line, channel; null or absent: any")
    questions: list[dict[str, Any]] = Field(min_length=1, max_length=20)
    active: bool = True


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (OpenBody, AnswerBody, QuestionnaireBody)
_QID: Final = [path_param("questionnaire_id", pattern="^[a-z0-9][a-z0-9_-]{0,63}$", examples=["care"])]
_STAFF_ROLES: Final = "supervisor, admin"
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/surveys/questionnaires": {"get": operation(
        "Every survey questionnaire, its latest version: segment (value tier, product line, channel), questions "
        "(rating 1-5, choice, yes/no, free text, both languages)", roles=_STAFF_ROLES)},
    "/api/surveys/questionnaires/{questionnaire_id}": {
        "get": operation("One questionnaire, its latest version", roles=_STAFF_ROLES, params=_QID,
                         errors=(404,)),
        "put": operation("Save a questionnaire as its next version (surveys already sent keep theirs)",
                         roles=_STAFF_ROLES, body="QuestionnaireBody", params=_QID, errors=(422,)),
    },
    "/api/survey/open": {"post": operation(
        "The survey a link's token names: its questionnaire and the customer's language. Unknown token 404; "
        "answered or expired 409 (survey_answered, survey_expired)", roles="anyone with the survey link",
        public=True, body="OpenBody", errors=(404, 409, 429))},
    "/api/survey/answer": {"post": operation(
        "Answer the survey a link's token names, once: the answers are checked against its questionnaire; "
        "required questions left out make it partial (status partial)", roles="anyone with the survey link",
        public=True, body="AnswerBody", errors=(404, 409, 429))},
    "/api/calls/{call_id}/survey": {"post": operation(
        "Offer the post-call survey on a connected call: when the agent's side ends the call, the caller stays on "
        "the line and rates it by keypad or voice (docs/ivr.md, 'The post-call survey'). 409 survey_no_customer "
        "(an unknown caller), survey_no_questionnaire, survey_unavailable (no survey flow), call_not_connected",
        roles="the call's agent, supervisor (own scope), admin", params=[path_param("call_id", maxLength=64)],
        errors=(404, 409))},
    "/api/customers/{customer_id}/surveys": {"get": operation(
        "A customer's survey profile: answered surveys, latest CSAT rating and resolution, the trend of ratings, "
        "stated preferences (language, channel, contact time), latest comment", roles="agent (own work), "
        "supervisor (own scope), admin", params=[path_param("customer_id", pattern="^[0-9]{1,32}$")],
        errors=(404,))},
    "/api/reports/surveys": {"get": operation(
        "CSAT, NPS-style score, first-contact resolution and response rate (docs/metrics.md, 'Surveys') of the "
        "surveys sent in the local days from..to, per agent, team, queue, channel, day or segment, of the "
        "caller's scope; format=csv for CSV", roles="supervisor (own scope), admin",
        params=[query_param("from", format="date"), query_param("to", format="date"),
                query_param("by", enum=list(DIMENSIONS)), query_param("tz"),
                query_param("format", enum=["json", "csv"])], errors=(400,))},
}


def _scope(request: web.Request) -> Scope:
    user = require_role(request, *_STAFF)
    return Scope() if user.role == "admin" else scope_of(user.scope)


# -- questionnaires (supervisors) ------------------------------------------------------------------------------
@routes.get("/api/surveys/questionnaires")
async def list_questionnaires(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    found = await request.app[SURVEYS].questionnaires()
    return web.json_response({"questionnaires": [q.as_json() for q in found]})


@routes.get("/api/surveys/questionnaires/{questionnaire_id}")
async def get_questionnaire(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    found = await request.app[SURVEYS].questionnaire(request.match_info["questionnaire_id"])
    return web.json_response(found.as_json())


@routes.put("/api/surveys/questionnaires/{questionnaire_id}")
async def put_questionnaire(request: web.Request) -> web.Response:
    require_role(request, *_STAFF)
    body = QuestionnaireBody.model_validate(await read_object(request))
    saved = await request.app[SURVEYS].define(request.match_info["questionnaire_id"], body.model_dump(),
                                              by=principal(request).name)
    await request.app[AUDIT].record(principal(request), "change", "questionnaire", saved.questionnaire_id,
                                    source=source_of(request), detail={"version": saved.version})
    return web.json_response(saved.as_json())


# -- the customer, through the link ----------------------------------------------------------------------------
def _throttle(request: web.Request) -> None:
    """Tokens that name no survey count towards the client's portal throttle (as wrong sign-in codes do)."""
    wait = request.app[PORTAL_THROTTLES].retry_after(request.remote or "-", None)
    if wait is not None:
        raise coded(web.HTTPTooManyRequests(reason=f"too many attempts; retry in {wait} s",
                                            headers={"Retry-After": str(wait)}), "throttled", seconds=wait)


async def _counted(request: web.Request, work: Awaitable[T]) -> T:
    try:
        return await work
    except NotFound:
        request.app[PORTAL_THROTTLES].count(request.remote or "-", None)
        raise


@routes.post("/api/survey/open")
async def open_survey(request: web.Request) -> web.Response:
    _throttle(request)
    body = OpenBody.model_validate(await read_object(request))
    survey, questionnaire = await _counted(request, request.app[SURVEYS].open(body.token))
    return web.json_response({"language": survey.language, "questionnaire": questionnaire.as_json(),
                              "expires_at": None if survey.expires_at is None else survey.expires_at.isoformat()})


@routes.post("/api/survey/answer")
async def answer_survey(request: web.Request) -> web.Response:
    _throttle(request)
    body = AnswerBody.model_validate(await read_object(request))
    survey = await _counted(request, request.app[SURVEYS].answer(body.token, body.answers, channel="web",
                                                                  source=source_of(request)))
    return web.json_response({"status": survey.status})


# -- the post-call survey ------------------------------------------------------------------------------------------
@routes.post("/api/calls/{call_id}/survey")
async def offer_survey(request: web.Request) -> web.Response:
    user = principal(request)
    post_call = request.app.get(POST_CALL_SURVEYS)
    if post_call is None:  # a cti without telephony has no calls to offer it on
        raise NotFound(f"no call {request.match_info['call_id']!r}", code="call_not_found")
    offer = await post_call.offer(user, request.match_info["call_id"])
    return web.json_response(offer.as_json(), status=201)


# -- staff reading -------------------------------------------------------------------------------------------------
@routes.get("/api/customers/{customer_id}/surveys")
async def customer_surveys(request: web.Request) -> web.Response:
    user = principal(request)
    customer_id = request.match_info["customer_id"]
    await request.app[CUSTOMERS].reachable(user, customer_id)
    profile = await request.app[SURVEYS].profile(customer_id)
    await request.app[AUDIT].record(user, "view", "customer_surveys", customer_id, source=source_of(request))
    return web.json_response(profile.as_json())


@routes.get("/api/reports/surveys")
async def survey_report(request: web.Request) -> web.Response:
    scope = _scope(request)
    query = request.query
    try:
        tz = ZoneInfo(query.get("tz", request.app[SETTINGS].timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise web.HTTPBadRequest(reason=f"unknown time zone {query.get('tz')!r}") from exc
    try:
        first = date.fromisoformat(query["from"])
        last = date.fromisoformat(query.get("to", query["from"]))
    except (KeyError, ValueError) as exc:
        raise web.HTTPBadRequest(reason="from (and to) are dates: YYYY-MM-DD") from exc
    if not (2000 <= first.year and last.year <= 2100) or not first <= last or (last - first).days >= MAX_REPORT_DAYS:
        raise web.HTTPBadRequest(reason=f"from must not be after to, the range at most {MAX_REPORT_DAYS} days, "
                                        "between 2000 and 2100")
    by = query.get("by", "queue")
    if by not in DIMENSIONS:
        raise web.HTTPBadRequest(reason=f"by is one of {', '.join(DIMENSIONS)}")
    fmt: Literal["json", "csv"] | str = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise web.HTTPBadRequest(reason="format is json or csv")
    rows, total = await request.app[SURVEYS].report(scope, first, last, tz=tz, by=by)
    await request.app[AUDIT].record(principal(request), "export", "report", "surveys", source=source_of(request),
                                    detail={"from": first.isoformat(), "to": last.isoformat(), "by": by,
                                            "format": fmt})
    if fmt == "csv":
        return web.Response(text=survey_csv(by, rows), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="surveys.csv"'})
    return web.json_response({"by": by, "from": first.isoformat(), "to": last.isoformat(),
                              "rows": [{"key": r.key, **r.figures.as_json()} for r in rows],
                              "total": total.as_json()})
