"""The ``cti`` command line (``cti = "cti.cli:main"``): serve, demo, database, CRM data, erasure and retention,
dead letters, users, Asterisk and WFM.

Each command imports what it needs only when it runs, so ``cti --help`` stays fast.
"""

from ._main import main

__all__ = ["main"]
