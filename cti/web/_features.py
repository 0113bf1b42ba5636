"""The feature modules, and mounting them on an app."""

from __future__ import annotations

from aiohttp import web

from cti.web import (
    _agents,
    _alerts,
    _audit,
    _calls,
    _chat,
    _customer_search,
    _cyberagent,
    _cyberagent_labels,
    _dashboard,
    _desktop,
    _faq,
    _live,
    _outbound,
    _partners,
    _phone,
    _portal,
    _portal_selfservice,
    _privacy,
    _recordings,
    _scripts,
    _service,
    _settings,
    _signin,
    _supervision,
    _surveys,
    _tasks,
    _ui,
    _users,
    _verification,
    _wfm,
)
from cti.web._front import FRONT, FrontEnd, forward, front_routes
from cti.web._openapi import ApiModule
from cti.web._service import API_MODULES

__all__ = ["FEATURES", "mount", "mount_front"]

FEATURES: tuple[ApiModule, ...] = (_service, _signin, _users, _agents, _calls, _outbound, _desktop, _customer_search,
                                   _phone,
                                   _verification, _privacy, _recordings, _supervision, _dashboard, _scripts, _faq,
                                   _wfm, _alerts, _surveys, _audit, _settings, _portal, _portal_selfservice,
                                   _cyberagent, _cyberagent_labels, _chat, _tasks, _partners, _live, _ui)
"""Every feature module, in the order their routes are added."""


def mount(app: web.Application, features: tuple[ApiModule, ...] = FEATURES) -> None:
    """Add the features' routes to ``app`` (and describe them at ``/openapi.json``)."""
    app[API_MODULES] = features
    for feature in features:
        app.add_routes(feature.routes)
    app.on_response_prepare.append(_protective_headers)


def mount_front(app: web.Application, front: FrontEnd) -> None:
    """A web front end's routes (docs/scaling.md, *Web front ends*): its health and the pages' live sockets, the
    static pages, and everything else forwarded to the leader."""
    app[FRONT] = front
    app.add_routes(front_routes(front))
    app.add_routes(_ui.routes)
    app.router.add_route("*", "/{tail:.*}", forward)
    app.on_response_prepare.append(_protective_headers)


async def _protective_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer: no sniffing, no framing, no referrer; and the API's answers (personal data, or a
    token) are never stored by a browser or a proxy."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith("/ui/"):
        response.headers["Cache-Control"] = "no-store"
