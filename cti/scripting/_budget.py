"""How much one render may cost: steps, characters and (as a backstop) seconds, spent as the template runs.

A script's templates run in the screen pop, on the event loop that carries every call: a template that
nests loops or doubles a text twenty times would stall every pop. So rendering is counted from inside
(:mod:`cti.scripting._template` instruments every template): each piece of a template that runs is a
**step** (a loop's body counts again on every turn), and every character a template produces, in its output,
in a ``{% set %}`` block or in an intermediate text (``~``, ``+``, ``join``, ``replace``...), is charged
*before* it is built. Counting makes the limits deterministic: the same script and data always stop at the
same place. The **seconds** limit is a backstop for work a step does not weigh well (comparing long texts),
checked at the same points with a clock the caller injects; nothing here reads the clock itself.

One :class:`RenderBudget` covers one use: a pop renders the steps of its path with one budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cti.scripting._errors import RenderBudgetExceeded

__all__ = ["MAX_NUMBER_DIGITS", "RenderBudget", "RenderLimits"]

MAX_NUMBER_DIGITS: Final = 40
"""Whole numbers a template computes stay below 10**40: squaring one again and again grows without bound."""


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """The allowance of one render (the settings ``CTI_SCRIPT_RENDER_*``)."""

    steps: int = 20_000
    """Pieces of templates run (texts, values, filters, operators, conditions; a loop's body on every turn)."""
    characters: int = 100_000
    """Characters produced: the output and every text built on the way."""
    seconds: float = 0.05
    """Wall-clock backstop, checked as steps are counted (with the injected clock only)."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.characters < 1 or not self.seconds > 0:
            raise ValueError(f"render limits must be positive: {self}")


class RenderBudget:
    """What is left of one render's allowance; :class:`RenderBudgetExceeded` once any limit is passed."""

    __slots__ = ("_clock", "_deadline", "characters", "limits", "steps")

    def __init__(self, limits: RenderLimits | None = None, *, clock: Callable[[], float] | None = None) -> None:
        self.limits = limits if limits is not None else RenderLimits()
        self.steps = 0
        self.characters = 0
        self._clock = clock
        self._deadline = None if clock is None else clock() + self.limits.seconds

    def spend(self, *, steps: int = 0, characters: int = 0) -> None:
        """Count work about to be done; raises before it is done if it would pass a limit."""
        self.steps += steps
        self.characters += characters
        if self.steps > self.limits.steps:
            raise RenderBudgetExceeded("steps", f"more than {self.limits.steps} steps (loops too long or nested?)")
        if self.characters > self.limits.characters:
            raise RenderBudgetExceeded("characters", f"more than {self.limits.characters} characters of text")
        if self._deadline is not None and self._clock is not None and self._clock() > self._deadline:
            raise RenderBudgetExceeded("seconds", f"more than {self.limits.seconds:g} s")

    def number(self, value: object) -> None:
        """A number an operator computed: refused once it has more than :data:`MAX_NUMBER_DIGITS` digits."""
        if isinstance(value, int) and not -10**MAX_NUMBER_DIGITS < value < 10**MAX_NUMBER_DIGITS:
            raise RenderBudgetExceeded("number", f"a number of more than {MAX_NUMBER_DIGITS} digits")
