"""ORM table of the versioned call scripts, on the shared :class:`~cti.storage.models.Base`.

Internal to :mod:`cti.scripting.store`; the schema is owned by migration 0005. ``cti.storage.models``
imports this module so the table is on ``Base.metadata`` whenever the core tables are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cti.storage.models import Base, UTCDateTime

__all__ = ["ScriptRow"]


class ScriptRow(Base):
    """One saved version of one script; saving never overwrites, it adds the next version."""

    __tablename__ = "scripts"

    script_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """At most one version per script is active: the one calls get."""
