"""Call scripts chosen by contact reason, customer value, cross-sell, promotion and billing (issue 5).

Pure: definitions (``_definition``), selection (``_selection``), the sandboxed templates (``_template``) with
their budget (``_budget``), the runner (``_runner``) and the trial render before saving (``_trial``); the saved
versions (``_versions``) are kept by :class:`cti.persistence.ScriptRepository` and served by
:class:`cti.services.ScriptLibrary`. Everything is imported from ``cti.scripting`` itself.
"""

from cti.scripting._budget import MAX_NUMBER_DIGITS, RenderBudget, RenderLimits
from cti.scripting._definition import (
    DEFAULT_SCRIPTS,
    END,
    Script,
    Step,
    load_script_file,
    parse_script,
    parse_scripts,
)
from cti.scripting._errors import (
    AnswerError,
    NoScript,
    Problem,
    RenderBudgetExceeded,
    RenderError,
    ScriptError,
    TemplateRefused,
)
from cti.scripting._runner import Answer, Progress, RenderedStep, advance, render_path, render_step, validate_answer
from cti.scripting._selection import BillingState, Factors, When, billing_state, select_script
from cti.scripting._template import render
from cti.scripting._trial import TRIAL_DATA, trial_render
from cti.scripting._versions import ScriptSummary, ScriptVersion

__all__ = [
    "DEFAULT_SCRIPTS",
    "END",
    "MAX_NUMBER_DIGITS",
    "TRIAL_DATA",
    "Answer",
    "AnswerError",
    "BillingState",
    "Factors",
    "NoScript",
    "Problem",
    "Progress",
    "RenderBudget",
    "RenderBudgetExceeded",
    "RenderError",
    "RenderLimits",
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
    "trial_render",
    "validate_answer",
]
