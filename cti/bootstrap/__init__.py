"""The composition root: builds every component from the settings, each once and whole, and wires them
(:func:`create_app`); :class:`Running` is what runs while the server does (the demo and the tests look inside;
the web layer never does)."""

from cti.bootstrap._app import RUNNING, Running, create_app
from cti.bootstrap._front import create_front_app

__all__ = ["RUNNING", "Running", "create_app", "create_front_app"]
