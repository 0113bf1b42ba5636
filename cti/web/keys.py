"""Typed application state (aiohttp ``AppKey``), set once by the composition root."""

from __future__ import annotations

from aiohttp import web

from cti.controller import CallController
from cti.settings import Settings
from cti.storage import Database

__all__ = ["CONTROLLER", "DATABASE", "SETTINGS"]

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CONTROLLER = web.AppKey("controller", CallController)
