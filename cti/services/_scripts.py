"""Call scripts as supervisors edit them: every saved version kept, one active per script (the one calls get)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from cti.scripting import RenderLimits, Script, ScriptSummary, ScriptVersion, parse_script, trial_render
from cti.services._ports import Scripts

__all__ = ["ScriptLibrary"]


class ScriptLibrary:
    def __init__(self, scripts: Scripts, *, render_limits: RenderLimits | None = None,
                 timer: Callable[[], float] | None = time.monotonic) -> None:
        """``render_limits``: what a script may cost a pop; saving refuses one that needs more (``timer``,
        monotonic seconds, enables the time limit)."""
        self._scripts = scripts
        self.render_limits = render_limits if render_limits is not None else RenderLimits()
        self._timer = timer

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
        """A new version (never an overwrite).

        ``ScriptError`` with every problem when the definition is invalid or a text fails to render;
        ``RenderBudgetExceeded`` when rendering it with representative data passes the render limits: such a
        script would stall every pop it is shown in, so it is not saved.
        """
        trial_render(parse_script(dict(definition), script_id=script_id), self.render_limits, clock=self._timer)
        return await self._scripts.save(definition, author=author, script_id=script_id, activate=activate)

    async def activate(self, script_id: str, version: int) -> ScriptVersion | None:
        """Make ``version`` the one calls get; None if there is no such version.

        A version saved before scripts had a budget is tried first, as saving would: ``RenderBudgetExceeded``.
        """
        found = await self._scripts.get(script_id, version)
        if found is None:
            return None
        trial_render(found.script(), self.render_limits, clock=self._timer)
        return await self._scripts.activate(script_id, version)
