"""Typed application state (aiohttp ``AppKey``), set once by the composition root."""

from __future__ import annotations

from aiohttp import web

from cti.controller import CallController
from cti.controller.stats_feed import StatsFeed
from cti.persistence import CustomerRepository, Database
from cti.screenpop.service import ScreenPop
from cti.settings import Settings
from cti.web.openapi import ApiModule
from cti.web.sockets import Hub

__all__ = ["API_MODULES", "CONTROLLER", "CRM", "DATABASE", "HUB", "SCREENPOP", "SETTINGS", "STATS"]

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CONTROLLER = web.AppKey("controller", CallController)
API_MODULES = web.AppKey("api_modules", tuple[ApiModule, ...])
"""The domain HTTP modules mounted beside the core routes; ``/openapi.json`` describes them too."""
HUB = web.AppKey("hub", Hub)
"""The websocket fan-out every page's live view goes through."""
CRM = web.AppKey("crm", CustomerRepository)
SCREENPOP = web.AppKey("screenpop", ScreenPop)
STATS = web.AppKey("stats", StatsFeed)
"""Live statistics for the dashboard."""
