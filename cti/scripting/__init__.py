"""Call scripts chosen by contact reason, customer value, cross-sell, promotion and billing (issue 5).

Pure: definitions (``_definition``), selection (``_selection``), the sandboxed templates (``_template``) and
the runner (``_runner``); the saved versions (``_versions``) are kept by :class:`cti.persistence.ScriptRepository`
and served by :class:`cti.services.ScriptLibrary`. Everything is imported from ``cti.scripting`` itself.
"""

from cti.scripting._definition import (
    DEFAULT_SCRIPTS,
    END,
    Script,
    Step,
    load_script_file,
    parse_script,
    parse_scripts,
)
from cti.scripting._errors import AnswerError, NoScript, Problem, RenderError, ScriptError, TemplateRefused
from cti.scripting._runner import Answer, Progress, RenderedStep, advance, render_path, render_step, validate_answer
from cti.scripting._selection import BillingState, Factors, When, billing_state, select_script
from cti.scripting._template import render
from cti.scripting._versions import ScriptSummary, ScriptVersion

__all__ = [
    "DEFAULT_SCRIPTS",
    "END",
    "Answer",
    "AnswerError",
    "BillingState",
    "Factors",
    "NoScript",
    "Problem",
    "Progress",
    "RenderError",
    "RenderedStep",
    "Script",
    "ScriptError",
    "ScriptSummary",
    "ScriptVersion",
    "Step",
    "TemplateRefused",
    "When",
    "advance",
    "billing_state",
    "load_script_file",
    "parse_script",
    "parse_scripts",
    "render",
    "render_path",
    "render_step",
    "select_script",
    "validate_answer",
]
