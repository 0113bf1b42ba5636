"""The feature modules, and mounting them on an app."""

from __future__ import annotations

from aiohttp import web

from cti.web import (
    _agents,
    _calls,
    _dashboard,
    _desktop,
    _privacy,
    _scripts,
    _service,
    _supervision,
    _ui,
    _users,
    _wfm,
)
from cti.web._openapi import ApiModule
from cti.web._service import API_MODULES

__all__ = ["FEATURES", "mount"]

FEATURES: tuple[ApiModule, ...] = (_service, _users, _agents, _calls, _desktop, _privacy, _supervision, _dashboard,
                                   _scripts, _wfm, _ui)
"""Every feature module, in the order their routes are added."""


def mount(app: web.Application, features: tuple[ApiModule, ...] = FEATURES) -> None:
    """Add the features' routes to ``app`` (and describe them at ``/openapi.json``)."""
    app[API_MODULES] = features
    for feature in features:
        app.add_routes(feature.routes)
