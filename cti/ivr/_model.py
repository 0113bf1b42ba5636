"""The IVR flows file: which flow answers which service number, and the nodes of each flow.

Pydantic models, strict, frozen, no unknown fields: they check shapes and ranges. The checks across nodes
(references, translations, reachability) and the loading are in :mod:`cti.ivr._checks`; the file format
is described for operators in docs/ivr.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from cti.ivr._template import PlaceholderType

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_LANGUAGE_OPTIONS",
    "DEFAULT_LANGUAGE_PROMPT",
    "DTMF_KEYS",
    "ENTITIES",
    "LOOKUPS",
    "NODE_KINDS",
    "Answer",
    "Choice",
    "CollectNode",
    "Flow",
    "Flows",
    "HangupNode",
    "LanguageNode",
    "LanguageOption",
    "LookupNode",
    "MenuNode",
    "Messages",
    "Node",
    "OpenIntent",
    "OpenNode",
    "PlayNode",
    "QuerySpec",
    "RecordNode",
    "SetNode",
    "Settings",
    "TransferNode",
    "VerifyNode",
    "normalize_phrase",
]

Text = dict[str, str]
"""Prompt text per language id ("id", "en")."""

ATTRIBUTES = ("product", "problem_type", "language", "value_tier", "survey", "satisfaction", "solved", "comment")
"""Call attributes a flow may set; they travel with the call to routing and to the agent. The call's customer
(``customer_id``) is not among them: only the calling number or a ``verify`` node makes a caller a customer.
``survey: yes`` is the caller asking for the post-call survey (remembered for their next calls);
``satisfaction`` (1-5) and ``solved`` (yes/no) are the survey flow's answers, ``comment`` the id of the caller's
spoken comment (a ``record`` node's recording)."""

ENTITIES = ("order_number", "amount", "product")
"""What an open question may learn besides the intent (from the caller's own words); each becomes a variable, as if a
``collect`` node had asked for it (a collection of a variable already known is not asked again)."""

DTMF_KEYS = "0123456789*#"
_IDENT = r"^[a-z][a-z0-9_]{0,63}$"


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A self-service query: the key the caller gives and the fields its answer may carry, with their types.

    A ``personal`` query tells a customer's data: a flow may reach it only through a ``verify`` node, and it is
    asked only for the verified customer."""

    key: str
    fields: Mapping[str, frozenset[PlaceholderType]]
    personal: bool = True


_TEXT: frozenset[PlaceholderType] = frozenset({"text"})
_DATE: frozenset[PlaceholderType] = frozenset({"date"})
_AMOUNT: frozenset[PlaceholderType] = frozenset({"money", "number"})
_ID: frozenset[PlaceholderType] = frozenset({"digits", "text"})
LOOKUPS: Mapping[str, QuerySpec] = {
    "order_status": QuerySpec("order_number", {
        "order_number": _ID, "status": _TEXT, "shipment_status": _TEXT, "carrier": _TEXT,
        "placed_on": _DATE, "shipped_on": _DATE, "delivered_on": _DATE, "total": _AMOUNT,
        "items": frozenset({"number"}),
    }),
    "balance": QuerySpec("customer_number", {
        "customer_number": _ID, "balance": _AMOUNT, "due_amount": _AMOUNT, "due_date": _DATE,
        "open_invoices": frozenset({"number"}),
    }),
}

DEFAULT_LANGUAGE_PROMPT: Text = {
    "id": "Untuk Bahasa Indonesia tekan 1 atau ucapkan Indonesia.",
    "en": "For English press 2 or say English.",
}


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _key(value: Any) -> Any:
    # YAML reads an unquoted `1` as an int; a key is a string, but this mistake is too common to refuse.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9:
        return str(value)
    return value


def _check_key(value: str) -> str:
    if len(value) != 1 or value not in DTMF_KEYS:
        raise ValueError(f"{value!r} is not a DTMF key (one of {DTMF_KEYS})")
    return value


DtmfKey = Annotated[str, BeforeValidator(_key), AfterValidator(_check_key)]


class LanguageOption(_Strict):
    dtmf: DtmfKey
    phrases: tuple[str, ...] = ()
    intent: str | None = Field(default=None, pattern=_IDENT, description="defaults to language_<id>")


DEFAULT_LANGUAGE_OPTIONS: dict[str, LanguageOption] = {
    "id": LanguageOption(dtmf="1", phrases=("indonesia", "bahasa indonesia", "bahasa")),
    "en": LanguageOption(dtmf="2", phrases=("english", "inggris", "bahasa inggris")),
}


class Settings(_Strict):
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="speech below it counts as no match")
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="no-input timeout of a listen")
    max_steps: int = Field(default=60, ge=5, le=1000, description="nodes entered + prompts asked before an agent")
    max_duration_s: float = Field(default=600, gt=0, le=7200, description="time in the IVR before an agent")
    speech: bool = Field(default=True, description="speech input where menus allow it")
    verify_attempts: int = Field(default=3, ge=1, le=10,
                                 description="attempts at a PIN or date of birth before self-service ends for the call")


class Messages(_Strict):
    """System prompts the interpreter plays itself; each may be overridden in the file's ``messages``."""

    no_input: Text = {"id": "Maaf, kami tidak mendengar jawaban Anda.", "en": "Sorry, we did not hear you."}
    no_match: Text = {"id": "Maaf, pilihan Anda tidak kami kenali.", "en": "Sorry, we did not understand that."}
    dtmf_only: Text = {"id": "Silakan gunakan tombol pada telepon Anda.", "en": "Please use your telephone keypad."}
    invalid: Text = {"id": "Maaf, nomor yang Anda masukkan tidak valid.",
                     "en": "Sorry, the number you entered is not valid."}
    transfer: Text = {"id": "Mohon tunggu, Anda akan dihubungkan dengan agen kami.",
                      "en": "Please hold while we connect you to an agent."}
    not_verified: Text = {"id": "Maaf, data yang Anda masukkan tidak sesuai.",
                          "en": "Sorry, that does not match our records."}


class PlayNode(_Strict):
    kind: Literal["play"]
    prompt: Text
    next: str
    barge_in: bool = False


class Choice(_Strict):
    intent: str = Field(pattern=_IDENT)
    dtmf: DtmfKey
    phrases: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="spoken synonyms per language")
    next: str


class MenuNode(_Strict):
    kind: Literal["menu"]
    prompt: Text
    dtmf_prompt: Text | None = Field(default=None, description="said instead of prompt when the menu takes keys only")
    choices: tuple[Choice, ...] = Field(min_length=1)
    retries: int = Field(default=2, ge=0, le=5, description="reprompts after a no-input or no-match")
    dtmf_attempts: int = Field(default=1, ge=0, le=5, description="keypad-only attempts after the retries")
    speech: bool = True
    barge_in: bool = True
    timeout_s: float | None = Field(default=None, gt=0, le=60)
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    failure: str | None = Field(default=None, description="node after every attempt failed; default: the agent")


class LanguageNode(_Strict):
    kind: Literal["language"]
    prompt: Text = Field(default_factory=lambda: dict(DEFAULT_LANGUAGE_PROMPT))
    options: dict[str, LanguageOption] = Field(default_factory=lambda: dict(DEFAULT_LANGUAGE_OPTIONS))
    next: str
    retries: int = Field(default=2, ge=0, le=5)
    barge_in: bool = True
    timeout_s: float | None = Field(default=None, gt=0, le=60)


class CollectNode(_Strict):
    kind: Literal["collect"]
    prompt: Text
    into: str = Field(pattern=_IDENT, description="the variable that holds the digits")
    min_length: int = Field(default=1, ge=1, le=32)
    max_length: int = Field(default=16, ge=1, le=32)
    terminator: Literal["#", "*"] | None = "#"
    pattern: str | None = Field(default=None, description="a regular expression the digits must match in full")
    checksum: Literal["luhn"] | None = None
    retries: int = Field(default=2, ge=0, le=5)
    invalid_prompt: Text | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=60)
    barge_in: bool = True
    sensitive: bool = Field(default=False, description="masked in the recorded path")
    valid: str
    invalid: str

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length {self.max_length}")
        return self


class Answer(_Strict):
    say: tuple[Text, ...] = Field(default=(), description="templates; the first whose values all exist is said")
    next: str

    @field_validator("say", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return (value,) if isinstance(value, Mapping) else value


class LookupNode(_Strict):
    kind: Literal["lookup"]
    query: Literal["order_status", "balance"]
    key: str = Field(pattern=_IDENT, description="the variable (or caller attribute) holding the query's key")
    currency: str = Field(default="IDR", pattern=r"^[A-Z]{3}$")
    labels: dict[str, dict[str, Text]] = Field(default_factory=dict, description="field -> raw value -> words")
    barge_in: bool = False
    found: Answer
    not_found: Answer
    error: Answer


class VerifyNode(_Strict):
    """Who the caller is, before anything personal is said: the customer whose phone they call from, or the one
    whose number they key and whose PIN or date of birth they then key."""

    kind: Literal["verify"]
    prompt: Text = Field(description="asks for the PIN or the date of birth (day, month, year: eight keys)")
    claim_prompt: Text | None = Field(default=None, description="asks a caller the calling number does not "
                                      "identify for their customer number; without it they go to failed")
    claim_min_length: int = Field(default=4, ge=1, le=16)
    claim_max_length: int = Field(default=16, ge=1, le=16)
    retries: int = Field(default=2, ge=0, le=5, description="reprompts of the customer number after an invalid "
                                                              "entry or a no-input")
    caller_id: bool = Field(default=True, description="the calling number verifies a caller it identifies; false "
                            "where caller ID cannot be trusted: they are asked for their PIN or date of birth too")
    timeout_s: float | None = Field(default=None, gt=0, le=60)
    barge_in: bool = True
    verified: str
    failed: str | None = Field(default=None, description="node when the caller is not verified; default: the agent")

    @model_validator(mode="after")
    def _lengths(self) -> VerifyNode:
        if self.claim_min_length > self.claim_max_length:
            raise ValueError(f"claim_min_length {self.claim_min_length} is above claim_max_length "
                             f"{self.claim_max_length}")
        return self


class OpenIntent(_Strict):
    next: str
    switch_language: bool = Field(default=False, description="the caller asked for the other language: the flow "
                                  "goes on in it (at next, often the open question again)")
    confirm: Text = Field(description="asked when the caller's words point here without certainty; say the keys "
                          "(\"..., is that right? Press 1 for yes, 2 for no.\")")


DEFAULT_YES: dict[str, tuple[str, ...]] = {"id": ("ya", "iya", "benar", "betul"),
                                           "en": ("yes", "yeah", "correct", "that's right")}
DEFAULT_NO: dict[str, tuple[str, ...]] = {"id": ("tidak", "bukan", "enggak"), "en": ("no", "nope", "not really")}


class OpenNode(_Strict):
    """An open question ("How can I help you?") answered in the caller's own words: the intent classifier of the
    ``steering`` model (its intents and example sentences) decides where the caller goes, asks them to confirm when
    it is not sure (the likeliest intent, then the second), and after ``retries`` failed attempts hands them to the
    ``fallback`` node (the keypad menu). A key pressed during the question goes to the fallback at once, and the
    key with it."""

    kind: Literal["open"]
    prompt: Text
    steering: str = Field(pattern=_IDENT, description="the intents' model: cti/steering/data/<name>.yaml")
    intents: dict[str, OpenIntent] = Field(min_length=1, description="intent -> where it goes, and its confirmation")
    fallback: str = Field(description="the keypad menu, after the failed attempts or at the first key")
    retries: int = Field(default=1, ge=0, le=3, description="open questions asked again after the first")
    yes: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_YES))
    no: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_NO))
    barge_in: bool = True
    timeout_s: float | None = Field(default=None, gt=0, le=60)


class RecordNode(_Strict):
    """The caller speaks after a tone and cti keeps the audio: a spoken comment. The recording ends after
    ``silence_s`` of silence, at ``max_s``, on the ``terminator`` key, or when the caller hangs up (what they said
    is kept). Its id goes into the call attribute ``into``; a caller who says nothing sets nothing."""

    kind: Literal["record"]
    prompt: Text
    into: Literal["comment"] = "comment"
    max_s: int = Field(default=30, ge=3, le=300, description="the longest recording, in seconds")
    silence_s: int = Field(default=3, ge=1, le=30, description="silence that ends it, in seconds")
    terminator: Literal["#", "*"] | None = "#"
    beep: bool = True
    next: str


class SetNode(_Strict):
    kind: Literal["set"]
    attributes: dict[str, str] = Field(min_length=1, description="a value '$name' copies a variable")
    next: str


class TransferNode(_Strict):
    kind: Literal["transfer"]
    queue: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    priority: int | None = Field(default=None, ge=0, le=100)
    attributes: dict[str, str] = Field(default_factory=dict)
    prompt: Text | None = Field(default=None, description="said before the transfer; default messages.transfer")


class HangupNode(_Strict):
    kind: Literal["hangup"]
    prompt: Text | None = None


Node = Annotated[
    PlayNode | MenuNode | LanguageNode | CollectNode | VerifyNode | LookupNode | RecordNode | OpenNode | SetNode
    | TransferNode | HangupNode,
    Field(discriminator="kind"),
]
NODE_KINDS = ("play", "menu", "language", "collect", "verify", "lookup", "record", "open", "set", "transfer",
              "hangup")


class Flow(_Strict):
    entry: str
    agent: str | None = Field(default=None, description="the transfer node used when callers fail or loop")
    nodes: dict[str, Node] = Field(min_length=1)

    def agent_node(self) -> TransferNode | None:
        node = self.nodes.get(self.agent) if self.agent else None
        return node if isinstance(node, TransferNode) else None


class Flows(_Strict):
    languages: tuple[str, ...] = ("id", "en")
    default_language: str = "id"
    settings: Settings = Settings()
    messages: Messages = Messages()
    service_numbers: dict[str, str] = Field(min_length=1, description="number or _pattern -> flow name")
    default_flow: str | None = None
    flows: dict[str, Flow] = Field(min_length=1)

    @field_validator("service_numbers", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        # Unquoted numbers in YAML keys arrive as ints.
        if isinstance(value, Mapping):
            return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v for k, v in value.items()}
        return value

    def flow_for(self, service_number: str) -> str | None:
        """The flow name for a dialled number: an exact entry, else the first matching pattern, else the default."""
        if service_number in self.service_numbers:
            return self.service_numbers[service_number]
        for number, flow in self.service_numbers.items():
            if number.startswith("_") and _pattern_regex(number).fullmatch(service_number):
                return flow
        return self.default_flow

    def steering_models(self) -> frozenset[str]:
        """The steering models the flows' open questions use (to load and warm up at start)."""
        return frozenset(node.steering for flow in self.flows.values() for node in flow.nodes.values()
                         if isinstance(node, OpenNode))

    def open_question(self, service_number: str) -> OpenNode | None:
        """The first open question of the number's flow (for ``cti speech intent --open``), if it has one."""
        name = self.flow_for(service_number)
        flow = self.flows.get(name) if name is not None else None
        return next((node for node in flow.nodes.values() if isinstance(node, OpenNode)), None) if flow else None

    def static_prompts(self) -> tuple[tuple[str, str], ...]:
        """Every (language, text) a session may say that is known before a call, to pre-render at start."""
        seen: dict[tuple[str, str], None] = {}
        for _, text in self.texts():
            for language, words in text.items():
                seen[(language, words)] = None
        return tuple(seen)

    def texts(self) -> Iterator[tuple[str, Text]]:
        """Every static prompt with its place in the file (lookup answers are templates, not included)."""
        for name in Messages.model_fields:
            yield f"messages.{name}", getattr(self.messages, name)
        for flow_name, flow in self.flows.items():
            for node_id, node in flow.nodes.items():
                where = f"flows.{flow_name}.nodes.{node_id}"
                if isinstance(node, PlayNode | MenuNode | LanguageNode | CollectNode | RecordNode | OpenNode):
                    yield f"{where}.prompt", node.prompt
                if isinstance(node, OpenNode):
                    for intent, target in node.intents.items():
                        yield f"{where}.intents.{intent}.confirm", target.confirm
                if isinstance(node, MenuNode) and node.dtmf_prompt is not None:
                    yield f"{where}.dtmf_prompt", node.dtmf_prompt
                if isinstance(node, CollectNode) and node.invalid_prompt is not None:
                    yield f"{where}.invalid_prompt", node.invalid_prompt
                if isinstance(node, VerifyNode):
                    yield f"{where}.prompt", node.prompt
                    if node.claim_prompt is not None:
                        yield f"{where}.claim_prompt", node.claim_prompt
                if isinstance(node, TransferNode | HangupNode) and node.prompt is not None:
                    yield f"{where}.prompt", node.prompt


def normalize_phrase(text: str) -> str:
    """How spoken text is compared with phrases: case-folded, punctuation dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for token in re.findall(r"\[[0-9-]+\]|.", pattern[1:]):
        out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(token, re.escape(token))
                   if not token.startswith("[") else token)
    return re.compile("".join(out))
