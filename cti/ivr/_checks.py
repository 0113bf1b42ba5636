"""Validating a flows file as a whole: every problem, each with its place in the file.

Shapes and ranges come from the pydantic models of :mod:`cti.ivr._model`; then the checks no single node
can make: references resolve, every prompt has each supported language, menus have no duplicate keys or
phrases, regular expressions compile, answer placeholders exist for their query with a type they can be read
as, every node is reachable from the entry (an unreachable node is an error, not a warning: it is nearly always
a mistyped ``next``), every node can reach a ``transfer`` or ``hangup``, and a lookup that tells personal data
can be reached only through a ``verify`` node's ``verified``. :class:`FlowError` lists them all
(``flows.sales.nodes.menu.choices.1.next: unknown node 'blance'``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cti.ivr._model import (
    ATTRIBUTES,
    ENTITIES,
    LOOKUPS,
    NODE_KINDS,
    Answer,
    CollectNode,
    Flow,
    Flows,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    OpenNode,
    PlayNode,
    RecordNode,
    SetNode,
    TransferNode,
    VerifyNode,
    normalize_phrase,
)
from cti.ivr._template import PlaceholderType, TemplateError, placeholders
from cti.steering import SteeringError, named_config

__all__ = ["SAMPLE_FLOWS", "FlowError", "load_flows_file", "parse_flows"]

SAMPLE_FLOWS = Path(__file__).resolve().parent / "flows" / "default.yaml"
"""The sample flows shipped with cti (the demo's and the tests'; docs/ivr.md)."""

_NODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_NUMBER = re.compile(r"^[0-9*#+]{1,32}$")
_PATTERN = re.compile(r"^_(?:[0-9*#+XZN.!]|\[[0-9-]+\])+$")


class FlowError(ValueError):
    """The flows file is invalid; the message lists every problem and where it is."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid IVR flows:\n" + "\n".join(f"  {p}" for p in problems))


def parse_flows(data: Any) -> Flows:
    """Validate a flows document (the parsed YAML); :class:`FlowError` lists every problem."""
    if not isinstance(data, Mapping):
        raise FlowError(["the flows document must be a mapping"])
    try:
        flows = Flows.model_validate(_tuples(data))
    except ValidationError as exc:
        raise FlowError([_describe(error) for error in exc.errors()]) from exc
    problems = _Checker(flows).run()
    if problems:
        raise FlowError(problems)
    return flows


def load_flows_file(path: Path) -> Flows:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise FlowError([f"cannot read IVR flows {path}: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise FlowError([f"{path}: not valid YAML: {exc}"]) from exc
    try:
        return parse_flows(data)
    except FlowError as exc:
        raise FlowError([f"{path}: {p}" for p in exc.problems]) from exc


def _tuples(value: Any) -> Any:
    # Strict mode takes only tuples for tuple fields; YAML gives lists.
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _describe(error: Any) -> str:
    loc = list(error["loc"])
    # A discriminated union puts the node's kind into the location: nodes.menu.menu.prompt -> nodes.menu.prompt.
    for i in range(len(loc) - 2):
        if loc[i] == "nodes" and loc[i + 2] in NODE_KINDS:
            del loc[i + 2]
            break
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
        message = f"kind must be one of {', '.join(NODE_KINDS)}"
    return f"{'.'.join(str(p) for p in loc) or 'flows'}: {message}"


def _next(flow: Flow, node: PlayNode | LanguageNode | SetNode | RecordNode) -> Iterator[tuple[str, str]]:
    yield "next", node.next


def _menu_next(flow: Flow, node: MenuNode) -> Iterator[tuple[str, str]]:
    for i, choice in enumerate(node.choices):
        yield f"choices.{i}.next", choice.next
    if node.failure is not None:
        yield "failure", node.failure
    elif flow.agent is not None:
        yield "agent", flow.agent


def _collect_next(flow: Flow, node: CollectNode) -> Iterator[tuple[str, str]]:
    yield "valid", node.valid
    yield "invalid", node.invalid


def _verify_next(flow: Flow, node: VerifyNode) -> Iterator[tuple[str, str]]:
    yield "verified", node.verified
    if node.failed is not None:
        yield "failed", node.failed
    elif flow.agent is not None:
        yield "agent", flow.agent


def _open_next(flow: Flow, node: OpenNode) -> Iterator[tuple[str, str]]:
    for intent, target in node.intents.items():
        yield f"intents.{intent}.next", target.next
    yield "fallback", node.fallback


def _lookup_next(flow: Flow, node: LookupNode) -> Iterator[tuple[str, str]]:
    for branch in ("found", "not_found", "error"):
        yield f"{branch}.next", getattr(node, branch).next


def _none(flow: Flow, node: Any) -> Iterator[tuple[str, str]]:
    return iter(())


RECORDING_FLOW = "survey"
"""The one flow whose recordings are kept (cti.services.SURVEY_FLOW, the post-call survey)."""

_SUCCESSORS: dict[type[Any], Callable[[Flow, Any], Iterator[tuple[str, str]]]] = {
    PlayNode: _next, LanguageNode: _next, SetNode: _next, RecordNode: _next, MenuNode: _menu_next,
    CollectNode: _collect_next, VerifyNode: _verify_next, LookupNode: _lookup_next, OpenNode: _open_next,
    TransferNode: _none, HangupNode: _none}
"""Per node kind: (field path, node id) of each node a node of that kind may go to."""


def _successors(flow: Flow, node: Any) -> Iterator[tuple[str, str]]:
    return _SUCCESSORS[type(node)](flow, node)


class _Checker:
    """The cross-checks after pydantic: each problem is a string prefixed with its place."""

    def __init__(self, flows: Flows) -> None:
        self.flows = flows
        self.languages = flows.languages
        self.problems: list[str] = []
        self.flow_nodes: Mapping[str, Any] = {}  # the nodes of the flow being checked
        # Per node kind, what to check of a node of that kind (kinds without a check of their own are left out).
        self._node_checks: dict[type[Any], Callable[[str, Any, set[str]], None]] = {
            MenuNode: self.menu, LanguageNode: self.language, CollectNode: self.collect, LookupNode: self.lookup,
            OpenNode: self.open,
            SetNode: self.attributes, TransferNode: self.attributes}

    def run(self) -> list[str]:
        flows = self.flows
        if len(set(self.languages)) != len(self.languages) or not self.languages:
            self.problems.append("languages: must list each language once, at least one")
        for language in self.languages:
            if not re.fullmatch(r"[a-z]{2,3}", language):
                self.problems.append(f"languages: {language!r} is not a language id like 'id' or 'en'")
        if flows.default_language not in self.languages:
            self.problems.append(f"default_language: {flows.default_language!r} is not in languages")
        for number, flow in flows.service_numbers.items():
            if not (_NUMBER.match(number) or _PATTERN.match(number)):
                self.problems.append(f"service_numbers.{number}: not a number nor a pattern like _1500XXX")
            if flow not in flows.flows:
                self.problems.append(f"service_numbers.{number}: no flow {flow!r}")
        if flows.default_flow is not None and flows.default_flow not in flows.flows:
            self.problems.append(f"default_flow: no flow {flows.default_flow!r}")
        for where, text in flows.texts():
            self.text(where, text, static=True)
        for name, one in flows.flows.items():
            self.flow(f"flows.{name}", one)
        return self.problems

    def text(self, where: str, text: Mapping[str, str], *, static: bool) -> None:
        for language in text:
            if language not in self.languages:
                self.problems.append(f"{where}: language {language!r} is not in languages")
        for language in self.languages:
            if not text.get(language, "").strip():
                self.problems.append(f"{where}: missing translation for {language!r}")
            elif static and ("{" in text[language] or "}" in text[language]):
                self.problems.append(f"{where}.{language}: placeholders are only allowed in lookup answers")

    def flow(self, where: str, flow: Flow) -> None:
        nodes = flow.nodes
        self.flow_nodes = nodes
        for node_id in nodes:
            if not _NODE_ID.match(node_id):
                self.problems.append(f"{where}.nodes.{node_id}: a node id is a letter then letters, digits, _ or -")
        if flow.entry not in nodes:
            self.problems.append(f"{where}.entry: unknown node {flow.entry!r}")
        broken = False
        if flow.agent is not None and not isinstance(nodes.get(flow.agent), TransferNode):
            self.problems.append(f"{where}.agent: {flow.agent!r} is not a transfer node of this flow")
            broken = flow.agent not in nodes  # the graph's walks would follow it
        variables = {n.into for n in nodes.values() if isinstance(n, CollectNode)}
        if any(isinstance(n, OpenNode) for n in nodes.values()):
            variables |= set(ENTITIES)  # what callers say in their own words: an order number, an amount, a product
        for node_id, node in nodes.items():
            at = f"{where}.nodes.{node_id}"
            if isinstance(node, RecordNode) and where != f"flows.{RECORDING_FLOW}":
                self.problems.append(f"{at}: a record node belongs to the {RECORDING_FLOW!r} flow (the post-call "
                                     "survey keeps its recording; nothing else would)")
            for field, target in _successors(flow, node):
                if field != "agent" and target not in nodes:
                    self.problems.append(f"{at}.{field}: unknown node {target!r}")
                    broken = True
            self.node(at, node, variables)
        if not broken and flow.entry in nodes:
            self.graph(where, flow)
            self.verification(where, flow)

    def node(self, at: str, node: Any, variables: set[str]) -> None:
        check = self._node_checks.get(type(node))
        if check is not None:
            check(at, node, variables)

    def collect(self, at: str, node: CollectNode, variables: set[str]) -> None:
        if node.pattern is not None:
            try:
                re.compile(node.pattern)
            except re.error as exc:
                self.problems.append(f"{at}.pattern: invalid regular expression: {exc}")

    def attributes(self, at: str, node: SetNode | TransferNode, variables: set[str]) -> None:
        for name, value in node.attributes.items():
            if name == "customer_id":
                self.problems.append(f"{at}.attributes.customer_id: only a verify node makes the caller a customer "
                                     "(a number the caller keys is theirs only once verified)")
            elif name == "comment":
                self.problems.append(f"{at}.attributes.comment: only a record node sets it (the id of what it "
                                     "recorded)")
            elif name not in ATTRIBUTES:
                self.problems.append(f"{at}.attributes.{name}: unknown attribute (known: {', '.join(ATTRIBUTES)})")
            elif value.startswith("$"):
                if value[1:] not in variables | {"customer_id"}:
                    self.problems.append(f"{at}.attributes.{name}: {value} is not collected by any node")
            elif name == "language" and value not in self.languages:
                self.problems.append(f"{at}.attributes.language: {value!r} is not in languages")

    def menu(self, at: str, node: MenuNode, variables: set[str] | None = None) -> None:
        keys: dict[str, str] = {}
        intents: set[str] = set()
        phrases: dict[tuple[str, str], str] = {}
        for i, choice in enumerate(node.choices):
            if choice.intent in intents:
                self.problems.append(f"{at}.choices.{i}.intent: {choice.intent!r} is used twice")
            intents.add(choice.intent)
            if choice.dtmf in keys:
                self.problems.append(f"{at}.choices: DTMF key {choice.dtmf!r} is used by {keys[choice.dtmf]!r} and "
                                     f"{choice.intent!r}")
            keys.setdefault(choice.dtmf, choice.intent)
            for language in choice.phrases:
                if language not in self.languages:
                    self.problems.append(f"{at}.choices.{i}.phrases: language {language!r} is not in languages")
            for language in self.languages:
                said = choice.phrases.get(language, ())
                if node.speech and not said and choice.phrases:  # no phrases at all: a choice by keys only
                    self.problems.append(f"{at}.choices.{i}.phrases: missing translation for {language!r}")
                for phrase in said:
                    self.phrase(f"{at}.choices", phrases, language, phrase, choice.intent)

    def language(self, at: str, node: LanguageNode, variables: set[str] | None = None) -> None:
        keys: dict[str, str] = {}
        phrases: dict[tuple[str, str], str] = {}
        for language, option in node.options.items():
            if language not in self.languages:
                self.problems.append(f"{at}.options.{language}: language {language!r} is not in languages")
            if option.dtmf in keys:
                self.problems.append(f"{at}.options: DTMF key {option.dtmf!r} is used by {keys[option.dtmf]!r} and "
                                     f"{language!r}")
            keys.setdefault(option.dtmf, language)
            for phrase in option.phrases:
                # Any language's phrase may be heard: the caller has not chosen yet.
                self.phrase(f"{at}.options", phrases, "*", phrase, language)
        for language in self.languages:
            if language not in node.options:
                self.problems.append(f"{at}.options: missing an option for {language!r}")

    def phrase(self, at: str, seen: dict[tuple[str, str], str], language: str, phrase: str, owner: str) -> None:
        normal = normalize_phrase(phrase)
        if not normal:
            self.problems.append(f"{at}: an empty phrase in {owner!r}")
            return
        other = seen.setdefault((language, normal), owner)
        if other != owner:
            lang = "" if language == "*" else f" ({language})"
            self.problems.append(f"{at}: phrase {phrase!r}{lang} is mapped to {other!r} and {owner!r}")

    def open(self, at: str, node: OpenNode, variables: set[str] | None = None) -> None:
        try:
            model = named_config(node.steering)
        except SteeringError as exc:
            self.problems.append(f"{at}.steering: {exc}")
        else:
            for intent in node.intents:
                sentences = model.intents.get(intent)
                if sentences is None:
                    self.problems.append(f"{at}.intents.{intent}: the steering model {node.steering!r} has no such "
                                         f"intent (it has {', '.join(sorted(model.intents))})")
                    continue
                for language in self.languages:
                    if not any(texts for lang, texts in sentences.items() if lang == language):
                        self.problems.append(f"{at}.intents.{intent}: the steering model {node.steering!r} has no "
                                             f"{language!r} sentences for it")
        if any(target.switch_language for target in node.intents.values()) and len(self.languages) != 2:
            self.problems.append(f"{at}: switch_language needs exactly two languages in the flows")
        fallback = self.flow_nodes.get(node.fallback)
        if fallback is not None and not isinstance(fallback, MenuNode):
            self.problems.append(f"{at}.fallback: {node.fallback!r} is not a menu (callers who cannot say it in "
                                 "their own words need the keypad)")
        for field, answers in (("yes", node.yes), ("no", node.no)):
            for language in answers:
                if language not in self.languages:
                    self.problems.append(f"{at}.{field}: language {language!r} is not in languages")
            for language in self.languages:
                if not answers.get(language):
                    self.problems.append(f"{at}.{field}: missing translation for {language!r}")

    def lookup(self, at: str, node: LookupNode, variables: set[str]) -> None:
        spec = LOOKUPS[node.query]
        if node.key not in variables | {"customer_id"}:
            self.problems.append(f"{at}.key: {node.key!r} is not collected by any node nor a caller attribute")
        elif node.query == "balance" and node.key != "customer_id":
            self.problems.append(f"{at}.key: a balance is told only to the verified customer: the key must be "
                                 "customer_id")
        for field, values in node.labels.items():
            if spec.fields.get(field) != frozenset({"text"}):
                self.problems.append(f"{at}.labels.{field}: not a text field of {node.query}")
            for raw, text in values.items():
                self.text(f"{at}.labels.{field}.{raw}", text, static=True)
        for branch in ("found", "not_found", "error"):
            answer: Answer = getattr(node, branch)
            allowed = spec.fields if branch == "found" else {spec.key: spec.fields[spec.key]}
            for i, template in enumerate(answer.say):
                self.text(f"{at}.{branch}.say.{i}", template, static=False)
                for language, words in template.items():
                    self.template(f"{at}.{branch}.say.{i}.{language}", words, node.query, allowed)

    def template(self, at: str, text: str, query: str, allowed: Mapping[str, frozenset[PlaceholderType]]) -> None:
        try:
            found = placeholders(text)
        except TemplateError as exc:
            self.problems.append(f"{at}: {exc}")
            return
        for placeholder in found:
            types = allowed.get(placeholder.name)
            if types is None:
                self.problems.append(f"{at}: no field {placeholder.name!r} in this answer of {query} "
                                     f"(fields: {', '.join(sorted(allowed))})")
            elif placeholder.type not in types:
                self.problems.append(f"{at}: {placeholder.name!r} cannot be read as {placeholder.type} "
                                     f"(as: {', '.join(sorted(types))})")

    def verification(self, where: str, flow: Flow) -> None:
        """A personal lookup must not be reachable from the entry but through a verify node's ``verified``."""
        seen = {flow.entry}
        stack = [flow.entry]
        while stack:
            node = flow.nodes[stack.pop()]
            for field, target in _successors(flow, node):
                if isinstance(node, VerifyNode) and field == "verified":
                    continue
                if target not in seen and target in flow.nodes:
                    seen.add(target)
                    stack.append(target)
        for node_id, node in flow.nodes.items():
            if node_id in seen and isinstance(node, LookupNode) and LOOKUPS[node.query].personal:
                self.problems.append(f"{where}.nodes.{node_id}: {node.query} tells personal data: reach it only "
                                     "through a verify node's 'verified' (it is reachable without)")

    def graph(self, where: str, flow: Flow) -> None:
        edges = {node_id: [t for _, t in _successors(flow, node)] for node_id, node in flow.nodes.items()}
        # The guard and failed menus without a failure node transfer to the agent, so it is always reachable.
        seen = {flow.entry} | ({flow.agent} if flow.agent in flow.nodes else set())
        stack = list(seen)
        while stack:
            for target in edges[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        for node_id in flow.nodes:
            if node_id not in seen:
                self.problems.append(f"{where}.nodes.{node_id}: unreachable from the entry {flow.entry!r}")
        exits = {node_id for node_id, node in flow.nodes.items() if isinstance(node, TransferNode | HangupNode)}
        # A menu or verify node failing without a failure node or agent transfers to routing directly: an exit.
        if flow.agent is None:
            exits |= {node_id for node_id, node in flow.nodes.items()
                      if (isinstance(node, MenuNode) and node.failure is None)
                      or (isinstance(node, VerifyNode) and node.failed is None)}
        reverse: dict[str, list[str]] = {node_id: [] for node_id in flow.nodes}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].append(source)
        leads_out = set(exits)
        stack = list(exits)
        while stack:
            for source in reverse[stack.pop()]:
                if source not in leads_out:
                    leads_out.add(source)
                    stack.append(source)
        for node_id in flow.nodes:
            if node_id in seen and node_id not in leads_out:
                self.problems.append(f"{where}.nodes.{node_id}: cannot reach a transfer or hangup")
