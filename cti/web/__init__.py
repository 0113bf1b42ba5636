"""HTTP API (aiohttp): routes, authentication, errors, OpenAPI, metrics."""

from cti.web import dashboard, desktop, scripts, supervision, ui, wfm
from cti.web.keys import API_MODULES, CONTROLLER, CRM, DATABASE, HUB, SCREENPOP, SETTINGS, STATS
from cti.web.routes import routes

__all__ = [
    "API_MODULES", "CONTROLLER", "CRM", "DATABASE", "HUB", "SCREENPOP", "SETTINGS", "STATS", "dashboard", "desktop",
    "routes", "scripts", "supervision", "ui", "wfm",
]
