"""HTTP API (aiohttp): routes, authentication, errors, OpenAPI, metrics."""

from cti.web.keys import CONTROLLER, DATABASE, SETTINGS
from cti.web.routes import routes

__all__ = ["CONTROLLER", "DATABASE", "SETTINGS", "routes"]
