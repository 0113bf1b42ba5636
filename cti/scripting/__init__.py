"""Call scripts chosen by contact reason, customer value, cross-sell, promotion and billing (issue 5).

Pure: definitions (:mod:`.definition`), selection (:mod:`.selection`), the sandboxed templates
(:mod:`.template`) and the runner (:mod:`.runner`). The versioned store is :mod:`cti.scripting.store`
(imported on its own: it needs :mod:`cti.storage`, whose models import :mod:`cti.scripting.models`).
"""

from cti.scripting.definition import (
    DEFAULT_SCRIPTS,
    END,
    Script,
    Step,
    load_script_file,
    parse_script,
    parse_scripts,
)
from cti.scripting.errors import AnswerError, NoScript, Problem, RenderError, ScriptError, TemplateRefused
from cti.scripting.runner import Answer, Progress, RenderedStep, advance, render_path, render_step, validate_answer
from cti.scripting.selection import BillingState, Factors, When, billing_state, select_script
from cti.scripting.template import render

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
