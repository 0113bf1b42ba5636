"""Saved scripts as the versioned store hands them out: one version of one script, and one line per script.

Plain values (the store is :class:`cti.persistence.ScriptRepository`): saving never overwrites, it adds the next
version, and at most one version per script is active, the one calls get.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cti.scripting._definition import Script, parse_script

__all__ = ["ScriptSummary", "ScriptVersion"]


@dataclass(frozen=True, slots=True)
class ScriptVersion:
    script_id: str
    version: int
    definition: dict[str, Any]
    """Normalised (defaults left out): what :func:`parse_script` accepts back."""
    author: str
    created_at: datetime
    active: bool

    def script(self) -> Script:
        return parse_script(self.definition, script_id=self.script_id)


@dataclass(frozen=True, slots=True)
class ScriptSummary:
    script_id: str
    title: dict[str, str]
    """The title of the active version, else of the latest."""
    latest_version: int
    active_version: int | None
