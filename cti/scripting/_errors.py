"""What can go wrong with call scripts, as plain exceptions (the web layer picks the HTTP status).

``ValueError``
  ├── ScriptError      a script definition is invalid; ``problems`` lists every fault found
  ├── AnswerError      an answer does not fit its question
  └── RenderError      a template could not be rendered
        ├── TemplateRefused       it tried something the sandbox forbids
        └── RenderBudgetExceeded  it needed more steps, text, time or digits than its budget allows
``LookupError``
  └── NoScript         no script matches the call and none catches all
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AnswerError", "NoScript", "Problem", "RenderBudgetExceeded", "RenderError", "ScriptError",
           "TemplateRefused"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault in a definition: ``where`` is a dotted path (``steps.router.next``), ``message`` says what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ScriptError(ValueError):
    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, script_id: str | None = None) -> None:
        self.problems = tuple(problems)
        self.script_id = script_id
        subject = f"script {script_id!r}" if script_id else "script"
        super().__init__(f"{subject} is invalid: " + "; ".join(str(p) for p in self.problems))


class AnswerError(ValueError):
    def __init__(self, step_id: str, message: str) -> None:
        self.step_id = step_id
        super().__init__(f"step {step_id!r}: {message}")


class RenderError(ValueError):
    """A template failed at render time (only templates that skipped :func:`check_template` can)."""


class TemplateRefused(RenderError):
    """A template asked for a private attribute, a call, or another way out of the data it was given."""


class RenderBudgetExceeded(RenderError):
    """Rendering was stopped at a limit of its budget (:class:`cti.scripting.RenderLimits`).

    ``limit`` names it (``steps``, ``characters``, ``seconds`` or ``number``) and ``reason`` says it in words;
    a trial render (:func:`cti.scripting.trial_render`) adds the script, the text (``where``) and the data
    it was rendered with (``case``).
    """

    def __init__(self, limit: str, reason: str, *, script_id: str | None = None, where: str = "",
                 case: str = "") -> None:
        self.limit = limit
        self.reason = reason
        self.script_id = script_id
        self.where = where
        self.case = case
        subject = f"script {script_id!r}" if script_id else "the script"
        place = " ".join(part for part in (f"at {where}" if where else "", f"({case})" if case else "") if part)
        super().__init__(f"{subject} is over its rendering budget{' ' + place if place else ''}: {reason}")

    def at(self, *, script_id: str, where: str, case: str) -> RenderBudgetExceeded:
        """The same limit, said of one text of one script with one set of data."""
        return RenderBudgetExceeded(self.limit, self.reason, script_id=script_id, where=where, case=case)


class NoScript(LookupError):
    """No script matches and the set has no catch-all script (one without ``when``)."""
