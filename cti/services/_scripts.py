"""Call scripts as supervisors edit them: every saved version kept, one active per script (the one calls get)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cti.scripting import Script, ScriptSummary, ScriptVersion
from cti.services._ports import Scripts

__all__ = ["ScriptLibrary"]


class ScriptLibrary:
    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts

    async def install(self, shipped: Iterable[Script]) -> None:
        """The scripts cti ships with, on a database that has none of them yet."""
        await self._scripts.install(shipped)

    async def summaries(self) -> list[ScriptSummary]:
        return await self._scripts.list_scripts()

    async def get(self, script_id: str, version: int | None = None) -> ScriptVersion | None:
        """The active version, or the given one."""
        return await self._scripts.get(script_id, version)

    async def versions(self, script_id: str) -> list[ScriptVersion]:
        return await self._scripts.versions(script_id)

    async def save(self, definition: Mapping[str, object], *, author: str, script_id: str,
                   activate: bool = True) -> ScriptVersion:
        """A new version (never an overwrite); ``ScriptError`` with every problem when the definition is invalid."""
        return await self._scripts.save(definition, author=author, script_id=script_id, activate=activate)

    async def activate(self, script_id: str, version: int) -> ScriptVersion | None:
        return await self._scripts.activate(script_id, version)
