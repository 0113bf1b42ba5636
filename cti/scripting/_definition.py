"""Call script definitions (YAML or JSON), validated whole before anything uses them.

A script is a list of steps; each step has a text per language (``id`` and ``en``, both required), an
optional hint for the agent, an optional question, and where to go next. Steps follow each other in list
order unless ``next`` says otherwise (``end`` finishes the script); a question's ``branches`` send given
answers elsewhere; a step with ``when`` is shown only when the call's factors match, else the script
goes on at ``otherwise`` (by default the step's ``next``). Steps must form no cycle and every step must
be reachable. Every text is a sandboxed template (see :mod:`cti.scripting._template`), checked here.

```yaml
id: technical
title: {id: Gangguan teknis, en: Technical problem}
priority: 20
when: {reason: [technical, internet_down]}
steps:
  - id: router_lights
    text: {id: "Apakah lampu modem menyala?", en: "Are the modem lights on?"}
    question: {kind: yes_no}
    branches: {no: power_check}
  - ...
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cti.scripting._errors import Problem, ScriptError
from cti.scripting._selection import When
from cti.scripting._template import check_template
from cti.types import LANGUAGES, Language

__all__ = [
    "DEFAULT_SCRIPTS",
    "END",
    "Choice",
    "Question",
    "Script",
    "Step",
    "load_script_file",
    "parse_script",
    "parse_scripts",
]

END: Final = "end"
"""The pseudo step id that finishes a script."""
DEFAULT_SCRIPTS: Final = Path(__file__).resolve().parent / "scripts" / "default.yaml"
_ID: Final = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_YES_NO: Final = ("yes", "no")
QuestionKind = Literal["yes_no", "choice", "text", "number"]


def _bilingual(value: dict[Language, str]) -> dict[Language, str]:
    missing = [lang for lang in LANGUAGES if not value.get(lang, "").strip()]
    if missing:
        raise ValueError(f"missing translation: {', '.join(missing)}")
    return value


Bilingual = Annotated[dict[Language, str], AfterValidator(_bilingual)]


def _yes_no_key(value: Any) -> Any:
    # YAML 1.1 reads a bare yes/no as a boolean; scripts mean the answer.
    return _YES_NO[0 if value else 1] if isinstance(value, bool) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    value: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    label: Bilingual

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        return _yes_no_key(value)


class Question(_Strict):
    kind: QuestionKind
    prompt: Bilingual | None = Field(default=None, description="what the agent records, if not plain from the text")
    required: bool = True
    choices: tuple[Choice, ...] = ()
    min: float | None = Field(default=None, description="number: smallest accepted")
    max: float | None = Field(default=None, description="number: largest accepted")
    integer: bool = Field(default=False, description="number: whole numbers only")
    max_length: int = Field(default=500, ge=1, le=5000, description="text: longest accepted")

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "choice":
            values = [choice.value for choice in self.choices]
            if len(values) < 2:
                raise ValueError("a choice question needs at least two choices")
            if len(set(values)) != len(values):
                raise ValueError("choice values must be unique")
        elif self.choices:
            raise ValueError(f"only choice questions have choices, not {self.kind}")
        if self.kind != "number" and (self.min is not None or self.max is not None or self.integer):
            raise ValueError("min, max and integer are for number questions")
        for bound in (self.min, self.max):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("min and max must be finite")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def values(self) -> tuple[str, ...]:
        """The answers a branch may name: ``yes``/``no`` or the choice values; none for text and numbers."""
        if self.kind == "yes_no":
            return _YES_NO
        return tuple(choice.value for choice in self.choices)


class Step(_Strict):
    id: str = Field(pattern=_ID)
    text: Bilingual
    hint: Bilingual | None = Field(default=None, description="for the agent, not to be read out")
    question: Question | None = None
    next: str | None = Field(default=None, description="default: the following step; 'end' finishes")
    branches: dict[str, str] = Field(default_factory=dict, description="answer value -> step id")
    when: When | None = None
    otherwise: str | None = Field(default=None, description="where to go when `when` does not match")

    @field_validator("branches", mode="before")
    @classmethod
    def _branch_keys(cls, value: Any) -> Any:
        return {_yes_no_key(k): v for k, v in value.items()} if isinstance(value, dict) else value


class Script(_Strict):
    id: str = Field(pattern=_ID)
    title: Bilingual
    description: str = Field(default="", max_length=2000, description="for supervisors")
    priority: int = Field(default=0, ge=0, le=100)
    when: When = Field(default_factory=When)
    steps: tuple[Step, ...] = Field(min_length=1, max_length=200)

    @property
    def catch_all(self) -> bool:
        return self.when.specificity == 0

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def next_of(self, step: Step) -> str:
        """Where a step goes by default: its ``next``, else the following step, else the end."""
        if step.next is not None:
            return step.next
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END

    def skip_to(self, step: Step) -> str:
        """Where the script goes when the step's ``when`` does not match."""
        return step.otherwise if step.otherwise is not None else self.next_of(step)

    def targets(self, step: Step) -> list[str]:
        """Every step (or END) the script can go to from ``step``, in a fixed order."""
        out: list[str] = []
        question = step.question
        if question is None or not question.required or not question.values \
                or not set(question.values) <= set(step.branches):
            out.append(self.next_of(step))
        out.extend(step.branches[value] for value in sorted(step.branches))
        if step.when is not None:
            out.append(self.skip_to(step))
        return list(dict.fromkeys(out))


def _where(loc: tuple[int | str, ...], data: object) -> str:
    """A pydantic error location with step indexes replaced by step ids where the data has them."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and 0 <= item < len(node):
            node = node[item]
            step_id = node.get("id") if isinstance(node, dict) else None
            parts.append(str(step_id) if isinstance(step_id, str) and parts[-1:] == ["steps"] else str(item))
            continue
        node = node.get(item) if isinstance(node, dict) else None
        parts.append(str(item))
    return ".".join(parts)


def _graph_problems(script: Script) -> list[Problem]:
    problems: list[Problem] = []
    ids = [step.id for step in script.steps]
    seen: set[str] = set()
    for step_id in ids:
        if step_id in seen:
            problems.append(Problem(f"steps.{step_id}", "the step id is used twice"))
        if step_id == END:
            problems.append(Problem(f"steps.{step_id}", f"{END!r} is reserved: it names the end of the script"))
        seen.add(step_id)
    known = seen | {END}
    for step in script.steps:
        where = f"steps.{step.id}"
        for field, target in (("next", step.next), ("otherwise", step.otherwise)):
            if target is not None and target not in known:
                problems.append(Problem(f"{where}.{field}", f"unknown next step {target!r}"))
        if step.otherwise is not None and step.when is None:
            problems.append(Problem(f"{where}.otherwise", "otherwise needs a when"))
        if step.branches:
            values = step.question.values if step.question is not None else ()
            if not values:
                problems.append(Problem(f"{where}.branches", "only yes_no and choice questions can branch"))
            for answer, target in sorted(step.branches.items()):
                if values and answer not in values:
                    problems.append(Problem(f"{where}.branches.{answer}",
                                            f"{answer!r} is not an answer of this question ({', '.join(values)})"))
                if target not in known:
                    problems.append(Problem(f"{where}.branches.{answer}", f"unknown next step {target!r}"))
    if problems:
        return problems  # reachability and cycles mean little over unknown targets
    reached = _reachable(script)
    for step_id in ids:
        if step_id not in reached:
            problems.append(Problem(f"steps.{step_id}", "the step is unreachable from the first step"))
    cycle = _cycle(script)
    if cycle:
        problems.append(Problem("steps", "the steps form a cycle: " + " -> ".join(cycle)))
    return problems


def _reachable(script: Script) -> set[str]:
    reached: set[str] = set()
    todo = [script.steps[0].id]
    while todo:
        step_id = todo.pop()
        if step_id == END or step_id in reached:
            continue
        reached.add(step_id)
        todo.extend(script.targets(script.step(step_id)))
    return reached


def _cycle(script: Script) -> list[str]:
    """One cycle as a list of step ids (first repeated at the end), or empty."""
    done: set[str] = set()
    for start in (step.id for step in script.steps):
        if start in done:
            continue
        # Iterative depth-first search: a script of 200 steps must not hit the recursion limit.
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(start, script.targets(script.step(start)))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            target = pending.pop(0)
            if target == END or target in done:
                continue
            if target in on_path:
                return [*path[path.index(target):], target]
            stack.append((target, script.targets(script.step(target))))
            path.append(target)
            on_path.add(target)
    return []


def _template_problems(script: Script) -> list[Problem]:
    texts: list[tuple[str, Mapping[Language, str]]] = [("title", script.title)]
    for step in script.steps:
        texts.append((f"steps.{step.id}.text", step.text))
        if step.hint is not None:
            texts.append((f"steps.{step.id}.hint", step.hint))
        if step.question is not None:
            if step.question.prompt is not None:
                texts.append((f"steps.{step.id}.question.prompt", step.question.prompt))
            texts.extend((f"steps.{step.id}.question.choices.{choice.value}.label", choice.label)
                         for choice in step.question.choices)
    return [Problem(f"{where}.{lang}", message)
            for where, bilingual in texts for lang in LANGUAGES for message in check_template(bilingual[lang])]


def parse_script(data: object, *, script_id: str | None = None) -> Script:
    """A validated script from parsed YAML/JSON; :class:`ScriptError` lists every problem found.

    ``script_id``, when given, must match the definition's ``id`` (and fills it in when absent).
    """
    if not isinstance(data, dict):
        raise ScriptError([Problem("", "a script definition must be a mapping")], script_id=script_id)
    if script_id is not None:
        if data.get("id", script_id) != script_id:
            raise ScriptError([Problem("id", f"the definition says {data['id']!r}, not {script_id!r}")],
                              script_id=script_id)
        data = {**data, "id": script_id}
    name = script_id or (data["id"] if isinstance(data.get("id"), str) else None)
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        raise ScriptError([Problem(_where(error["loc"], data), error["msg"]) for error in exc.errors()],
                          script_id=name) from exc
    problems = _graph_problems(script) + _template_problems(script)
    if problems:
        raise ScriptError(problems, script_id=script.id)
    return script


def parse_scripts(data: object) -> tuple[Script, ...]:
    """A set of scripts (``{scripts: [...]}``): each valid, ids unique, and one catch-all among them.

    A ``shared`` key beside ``scripts`` is ignored: it holds the steps that YAML anchors reuse.
    """
    if not isinstance(data, dict) or not isinstance(data.get("scripts"), list) \
            or not set(data) <= {"scripts", "shared"}:
        raise ScriptError([Problem("", "a script file is a mapping with a list under 'scripts' "
                                       "(and optionally 'shared' steps for YAML anchors)")])
    scripts: list[Script] = []
    problems: list[Problem] = []
    for index, item in enumerate(data["scripts"]):
        try:
            scripts.append(parse_script(item))
        except ScriptError as exc:
            label = exc.script_id or str(index)
            problems.extend(Problem(f"scripts.{label}" + (f".{p.where}" if p.where else ""), p.message)
                            for p in exc.problems)
    ids = [script.id for script in scripts]
    problems.extend(Problem(f"scripts.{script_id}", "the script id is used twice")
                    for script_id in sorted({i for i in ids if ids.count(i) > 1}))
    if scripts and not problems and not any(script.catch_all for script in scripts):
        problems.append(Problem("scripts", "no catch-all script (one without when): some calls would get none"))
    if problems:
        raise ScriptError(problems)
    return tuple(scripts)


def load_script_file(path: Path = DEFAULT_SCRIPTS) -> tuple[Script, ...]:
    """Read and validate a YAML (or JSON) script file; by default the scripts shipped with cti."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError([Problem("", f"cannot read {path}: {exc.strerror}")]) from exc
    except yaml.YAMLError as exc:
        raise ScriptError([Problem("", f"{path} is not valid YAML: {exc}")]) from exc
    return parse_scripts(data)
