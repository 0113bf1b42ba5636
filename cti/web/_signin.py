"""People signing in: a session cookie for a user name and password, signing out, who am I (and my language), and
passwords (set by an administrator, changed by their owner).

``POST /api/session`` answers the ``/api/me`` document and sets two cookies: ``cti_session`` (the session id:
HttpOnly, so no script reads it) and ``cti_csrf`` (readable by the pages, which send it back as ``X-CSRF-Token``
on every request that changes something; see :mod:`cti.web._auth`). Both are ``SameSite=Strict``, ``Path=/``,
and ``Secure`` when the request came over TLS or ``CTI_SECURE_COOKIES`` says cti is behind a TLS proxy. A wrong
password, an unknown name, a user without a password and a disabled one get the same 401. Neither a password nor
a session id is ever logged or put in a URL.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.records import UserRecord
from cti.services import MAX_PASSWORD, MIN_PASSWORD, NewSession, WrongPassword
from cti.web._audit import source_of
from cti.web._auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, principal, require_role, web_session
from cti.web._bodies import read_object
from cti.web._errors import coded
from cti.web._keys import AUDIT, SESSIONS, SETTINGS, SIGN_IN
from cti.web._openapi import operation, path_param
from cti.web._sessions import Refused, Sessions, Throttled
from cti.web._views import ID_PATTERN, user_view

__all__ = ["MeChange", "OwnPasswordChange", "PasswordSet", "SignInBody", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()


class _Body(BaseModel):
    # Passwords are taken exactly as typed: no stripping of spaces.
    model_config = ConfigDict(extra="forbid")


class SignInBody(_Body):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class MeChange(_Body):
    language: Literal["id", "en"]


class PasswordSet(_Body):
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class OwnPasswordChange(_Body):
    current: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


schemas: tuple[type[BaseModel], ...] = (SignInBody, MeChange, PasswordSet, OwnPasswordChange)
_ME = ("The calling user: name, the name pages show (an agent's registered name), role, agent, language, the "
       "center's time zone and company name")
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/session": {
        "post": operation(
            "Sign in with a user name and password: answers the /api/me document and sets the cti_session "
            "(HttpOnly) and cti_csrf cookies; send cti_csrf's value as X-CSRF-Token on every request that "
            "changes something. A wrong name or password is 401 alike; repeated failures per name or address "
            "are 429 with Retry-After", roles="anyone", public=True, body="SignInBody", errors=(401, 429)),
        "delete": operation(
            "Sign out: the session ends and both cookies are cleared (also without a session)", roles="anyone",
            public=True, errors=(403,)),
    },
    "/api/me": {
        "get": operation(_ME, roles="any authenticated user"),
        "patch": operation("Change one's language (id or en), remembered for one's pages",
                           roles="any authenticated user", body="MeChange"),
    },
    "/api/me/password": {"put": operation(
        "Change one's own password, giving the current one; one's other sessions end and one's websockets close",
        roles="any authenticated user", body="OwnPasswordChange")},
    "/api/users/{name}/password": {"put": operation(
        f"Set or reset a user's password ({MIN_PASSWORD} to {MAX_PASSWORD} characters); their sessions end and "
        "their websockets close", roles="admin", body="PasswordSet",
        params=[path_param("name", pattern=ID_PATTERN)], errors=(404,))},
}


async def _me(request: web.Request, user: UserRecord) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {**user_view(user), "display_name": await request.app[SIGN_IN].display_name(user),
            "language": user.language, "timezone": settings.timezone, "company": settings.company_name}


def _secure(request: web.Request, sessions: Sessions) -> bool:
    # Behind a TLS-terminating proxy cti sees plain HTTP: CTI_SECURE_COOKIES says so (docs/security.md).
    return request.secure or sessions.secure_cookies


def _set_cookies(request: web.Request, response: web.Response, new: NewSession, sessions: Sessions) -> None:
    lifetime = int((new.record.expires_at - new.record.created_at).total_seconds())
    secure = _secure(request, sessions)
    response.set_cookie(SESSION_COOKIE, new.session_id, path="/", httponly=True, samesite="Strict", secure=secure,
                        max_age=lifetime)
    response.set_cookie(CSRF_COOKIE, new.csrf_token, path="/", samesite="Strict", secure=secure, max_age=lifetime)


def _clear_cookies(request: web.Request, response: web.Response, sessions: Sessions) -> None:
    secure = _secure(request, sessions)
    response.del_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure)
    response.del_cookie(CSRF_COOKIE, path="/", samesite="Strict", secure=secure)


def _throttled(exc: Throttled) -> web.HTTPTooManyRequests:
    return coded(web.HTTPTooManyRequests(reason=str(exc), headers={"Retry-After": str(exc.retry_after)}), "throttled",
                 seconds=exc.retry_after)


@routes.post("/api/session")
async def sign_in(request: web.Request) -> web.Response:
    # Only JSON: a form on another site can post text/plain or a form, never application/json without CORS.
    if request.content_type != "application/json":
        raise web.HTTPBadRequest(reason="send the sign-in as a JSON body (Content-Type: application/json)")
    body = SignInBody.model_validate(await read_object(request))
    sessions = request.app[SESSIONS]
    try:
        new = await sessions.begin(body.name, body.password, request.remote or "-")
    except Throttled as exc:
        raise _throttled(exc) from None
    except Refused as exc:
        raise coded(web.HTTPUnauthorized(reason=str(exc), headers={"WWW-Authenticate": 'Bearer realm="cti"'}),
                    "wrong_credentials") from None
    request.app[AUDIT].record_soon(new.user, "login", "session", new.user.name, source=source_of(request),
                                   detail={"method": "password"})
    response = web.json_response(await _me(request, new.user))
    _set_cookies(request, response, new, sessions)
    return response


@routes.delete("/api/session")
async def sign_out(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    cookie = request.cookies.get(SESSION_COOKIE)
    ended = False
    if cookie:
        try:
            _, session = await sessions.authenticate_session(cookie)
        except Refused:
            session = None  # already over: only the cookies are left to clear
        if session is not None:
            if not Sessions.csrf_matches(session, request.headers.get(CSRF_HEADER)):
                raise coded(web.HTTPForbidden(reason="missing or wrong CSRF token"), "csrf")
            ended = await sessions.end(cookie)
    response = web.json_response({"signed_out": ended})
    _clear_cookies(request, response, sessions)
    return response


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(await _me(request, principal(request)))


@routes.patch("/api/me")
async def change_me(request: web.Request) -> web.Response:
    body = MeChange.model_validate(await read_object(request))
    user = await request.app[SIGN_IN].set_language(principal(request), body.language)
    request.app[SESSIONS].forget(user.name)  # cached copies of the user carry the old language
    return web.json_response(await _me(request, user))


@routes.put("/api/me/password")
async def change_own_password(request: web.Request) -> web.Response:
    body = OwnPasswordChange.model_validate(await read_object(request))
    user, sessions, client = principal(request), request.app[SESSIONS], request.remote or "-"
    wait = sessions.retry_after(client, user.name)
    if wait is not None:
        raise coded(web.HTTPTooManyRequests(reason=f"too many wrong passwords; retry in {wait} s",
                                            headers={"Retry-After": str(wait)}), "throttled", seconds=wait)
    try:
        await request.app[SIGN_IN].change_password(user, body.current, body.new, keep=web_session(request))
    except WrongPassword:
        sessions.failed_password(client, user.name)  # a stolen session must not guess the password freely
        raise
    await sessions.revoke(user.name, "password changed")
    return web.json_response({"name": user.name, "password_changed": True})


@routes.put("/api/users/{name}/password")
async def set_password(request: web.Request) -> web.Response:
    admin = require_role(request, "admin")
    body = PasswordSet.model_validate(await read_object(request))
    name = request.match_info["name"]
    own = web_session(request) if admin.name == name else None
    user = await request.app[SIGN_IN].set_password(name, body.password, keep=own)
    await request.app[SESSIONS].revoke(user.name, "password changed")
    return web.json_response({"name": user.name, "password_set": True})
