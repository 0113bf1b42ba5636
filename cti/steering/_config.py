"""Which intents an open question accepts, with example sentences per language, read from YAML.

The support line's are in ``data/support.yaml``; a flow's open-prompt node can give the same structure. Reading the
file is the only I/O here (as for IVR flow files): everything else in the package works on these values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from cti.types import LANGUAGES, Language

__all__ = ["NONE", "SteeringConfig", "SteeringError", "Thresholds", "default_config", "load_config", "named_config",
           "parse_config"]

HEARD_FILE: Final = "support_heard.yaml"
MAX_HYPOTHESES: Final = 50
NONE: Final = "none"
"""The class of what callers say that is none of the intents: never routed."""


class SteeringError(ValueError):
    """A steering configuration is invalid (the message names the problem)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the decision changes. ``route``: the likeliest intent's probability from which the call is routed at
    once (if it leads the second by ``margin``); ``confirm``: from which the caller is asked to confirm it; below,
    the caller is asked again. The defaults were chosen on the development set (bench/steering.py, docs/speech.md):
    the lowest ``route`` that kept misrouted callers near 3 %, the ``confirm`` that routed the most correctly.
    ``none``: the caller is asked again when the out-of-domain class has at least this probability, even if an
    intent leads it (1: only when it leads)."""

    route: float = 0.8
    confirm: float = 0.3
    margin: float = 0.2
    none: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confirm <= self.route <= 1.0 or not 0.0 <= self.margin <= 1.0:
            raise SteeringError(f"thresholds must satisfy 0 <= confirm <= route <= 1 and margin in [0, 1]: {self}")
        if not 0.0 < self.none <= 1.0:
            raise SteeringError(f"thresholds: none must be in (0, 1]: {self}")


@dataclass(frozen=True, slots=True)
class SteeringConfig:
    """Per intent and language its example sentences; ``out_of_domain`` per language what is none of them.

    ``heard`` per language: (text, intent) pairs of what the recognizer made of spoken example sentences (generated
    by ``bench/steering.py --export-heard``), extra examples for the classifier only: it learns the recognizer's
    usual mistakes ("my bill due" for "has my item shipped"), while the recognizer's language model stays built from
    the sentences as written.

    ``hypotheses``: how many of the recognizer's n-best transcripts the classifier reads (1: its best only), each
    weighted by a softmax of its path score times ``hypothesis_scale`` (docs/speech.md#call-steering)."""

    intents: Mapping[str, Mapping[Language, tuple[str, ...]]]
    out_of_domain: Mapping[Language, tuple[str, ...]] = field(default_factory=dict)
    service_numbers: tuple[str, ...] = ()
    thresholds: Thresholds = Thresholds()
    heard: Mapping[Language, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    hypotheses: int = 1
    hypothesis_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.hypotheses <= MAX_HYPOTHESES or not 0.0 <= self.hypothesis_scale <= 100.0:
            raise SteeringError(f"hypotheses must be 1-{MAX_HYPOTHESES} and hypothesis_scale 0-100")

    def examples(self, language: Language) -> list[tuple[str, str]]:
        """(sentence, intent) pairs of ``language``, out-of-domain ones as :data:`NONE`."""
        pairs = [(text, intent) for intent, by_language in self.intents.items()
                 for text in by_language.get(language, ())]
        return pairs + [(text, NONE) for text in self.out_of_domain.get(language, ())]

    def training_examples(self, language: Language) -> list[tuple[str, str]]:
        """What the classifier learns from: :meth:`examples` and then the ``heard`` ones."""
        return self.examples(language) + list(self.heard.get(language, ()))

    def sentences(self, language: Language) -> tuple[str, ...]:
        """Every example sentence of ``language`` (what the recognizer's language model is built from)."""
        return tuple(text for text, _ in self.examples(language))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SteeringError(f"{where}: expected a list of sentences")
    return tuple(v.strip() for v in value)


def _heard(raw: Any, intents: Mapping[str, object]) -> dict[Language, tuple[tuple[str, str], ...]]:
    """``heard: {intent or none: {id: [...], en: [...]}}`` as (text, intent) pairs per language; a sentence heard as
    nothing at all is left out (it says nothing about its intent)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SteeringError("heard: expected {intent: {language: [texts]}}")
    pairs: dict[Language, list[tuple[str, str]]] = {}
    for name, by_language in raw.items():
        if name != NONE and name not in intents:
            raise SteeringError(f"heard: unknown intent {name!r}")
        if not isinstance(by_language, dict) or set(by_language) - set(LANGUAGES):
            raise SteeringError(f"heard: intent {name!r}: expected texts per language (id, en)")
        for lang in LANGUAGES:
            texts = by_language.get(lang) or []
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise SteeringError(f"heard: intent {name!r} ({lang}): expected a list of texts")
            pairs.setdefault(lang, []).extend((t.strip(), str(name)) for t in texts if t.strip())
    return {lang: tuple(found) for lang, found in pairs.items() if found}


def parse_config(data: Any) -> SteeringConfig:
    """A configuration from parsed YAML: ``intents: {name: {id: [...], en: [...]}}``, optional ``out_of_domain``,
    ``service_numbers``, ``thresholds`` (route, confirm, margin), ``hypotheses`` (count, scale: the n-best read) and
    ``heard`` (what the recognizer made of the
    examples, per intent or ``none`` and language)."""
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict) or not data["intents"]:
        raise SteeringError("a steering configuration needs intents: {name: {id: [...], en: [...]}}")
    intents: dict[str, dict[Language, tuple[str, ...]]] = {}
    for name, by_language in data["intents"].items():
        if not isinstance(name, str) or name == NONE or not isinstance(by_language, dict):
            raise SteeringError(f"intent {name!r}: expected a name (not {NONE!r}) and sentences per language")
        unknown = set(by_language) - set(LANGUAGES)
        if unknown:
            raise SteeringError(f"intent {name!r}: unknown languages {sorted(unknown)}")
        intents[name] = {lang: _strings(by_language[lang], f"intent {name!r} ({lang})") for lang in LANGUAGES
                         if lang in by_language}
    for lang in LANGUAGES:
        having = [name for name, by_language in intents.items() if by_language.get(lang)]
        if having and len(having) < 2:
            raise SteeringError(f"{lang}: an open question needs at least two intents with sentences")
    raw_ood = data.get("out_of_domain") or {}
    out_of_domain = {lang: _strings(raw_ood[lang], f"out_of_domain ({lang})") for lang in LANGUAGES
                     if lang in raw_ood}
    raw_thresholds = data.get("thresholds") or {}
    try:
        thresholds = Thresholds(**{k: float(v) for k, v in raw_thresholds.items()})
    except TypeError as exc:
        raise SteeringError(f"thresholds: {exc}") from exc
    numbers = tuple(str(n) for n in data.get("service_numbers") or ())
    recognizer = data.get("hypotheses") or {}
    if not isinstance(recognizer, dict) or set(recognizer) - {"count", "scale"}:
        raise SteeringError("hypotheses: expected {count: N, scale: S}")
    try:
        count, scale = int(recognizer.get("count", 1)), float(recognizer.get("scale", 1.0))
    except (TypeError, ValueError) as exc:
        raise SteeringError(f"hypotheses: {exc}") from exc
    return SteeringConfig(intents=intents, out_of_domain=out_of_domain, service_numbers=numbers,
                          thresholds=thresholds, heard=_heard(data.get("heard"), intents), hypotheses=count,
                          hypothesis_scale=scale)


def load_config(path: Path) -> SteeringConfig:
    """Read and check a steering configuration file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SteeringError(f"cannot read {path}: {exc}") from exc
    return parse_config(data)


@functools.cache
def named_config(name: str, *, heard: bool = True) -> SteeringConfig:
    """A steering model shipped with cti (``data/<name>.yaml``), as an IVR flow's open node names it, with what the
    recognizer heard of its sentences (``data/<name>_heard.yaml``, generated by ``bench/steering.py
    --export-heard``) unless ``heard`` is False (to generate that file). Read once per process: it is package data,
    not configuration."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        raise SteeringError(f"{name!r} is not a steering model's name (lower-case letters, digits, _)")
    data = resources.files("cti.steering").joinpath("data")
    try:
        text = data.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SteeringError(f"no steering model {name!r} (cti/steering/data/{name}.yaml)") from None
    try:
        config = yaml.safe_load(text)
        generated = data.joinpath(f"{name}_heard.yaml")
        if heard and isinstance(config, dict) and generated.is_file():
            config["heard"] = (yaml.safe_load(generated.read_text(encoding="utf-8")) or {}).get("heard")
    except yaml.YAMLError as exc:
        raise SteeringError(f"steering model {name!r}: {exc}") from exc
    return parse_config(config)


def default_config(*, heard: bool = True) -> SteeringConfig:
    """The support line's open question (``data/support.yaml``, shipped with cti), with what the recognizer heard of
    its sentences unless ``heard`` is False (see :func:`named_config`)."""
    return named_config("support", heard=heard)
