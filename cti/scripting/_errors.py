"""What can go wrong with call scripts, as plain exceptions (the web layer picks the HTTP status).

``ValueError``
  ├── ScriptError      a script definition is invalid; ``problems`` lists every fault found
  ├── AnswerError      an answer does not fit its question
  └── RenderError      a template could not be rendered
        └── TemplateRefused  it tried something the sandbox forbids
``LookupError``
  └── NoScript         no script matches the call and none catches all
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AnswerError", "NoScript", "Problem", "RenderError", "ScriptError", "TemplateRefused"]


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


class NoScript(LookupError):
    """No script matches and the set has no catch-all script (one without ``when``)."""
