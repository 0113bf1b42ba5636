"""HTTP API (aiohttp): routes, authentication, errors, OpenAPI, metrics."""

from cti.web import desktop, scripts, supervision, ui
from cti.web.keys import API_MODULES, CONTROLLER, CRM, DATABASE, HUB, SCREENPOP, SETTINGS
from cti.web.routes import routes

__all__ = [
    "API_MODULES", "CONTROLLER", "CRM", "DATABASE", "HUB", "SCREENPOP", "SETTINGS", "desktop", "routes", "scripts",
    "supervision", "ui",
]
