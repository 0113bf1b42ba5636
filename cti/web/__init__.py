"""HTTP API (aiohttp): routes, authentication, errors, OpenAPI, metrics."""

from cti.web import scripts, supervision, ui
from cti.web.keys import API_MODULES, CONTROLLER, DATABASE, SETTINGS
from cti.web.routes import routes

__all__ = ["API_MODULES", "CONTROLLER", "DATABASE", "SETTINGS", "routes", "scripts", "supervision", "ui"]
