"""Natural-language call steering: what a caller asks for in their own words, from what the recognizer heard.

Pure (no I/O but reading a configuration file): ``Steering(config).understand(text, language)`` returns an
:class:`Understanding` — the intent, its probability, the entities (order number, amount, product) and the
decision the IVR takes (``route``, ``confirm`` or ``reprompt``). The intents and their example sentences come from
a :class:`SteeringConfig` (the support line's: :func:`default_config`, ``data/support.yaml``); the recognizer's
language model for the open question is built from the same sentences (:mod:`cti.speech.asr`). See
docs/speech.md#call-steering.
"""

from cti.steering._classifier import IntentClassifier, Ranked
from cti.steering._config import (
    NONE,
    SteeringConfig,
    SteeringError,
    Thresholds,
    default_config,
    load_config,
    named_config,
    parse_config,
)
from cti.steering._entities import NUMBER_WORDS, Entities, extract_entities, parse_number
from cti.steering._steering import Decision, Steering, Understanding, decide

__all__ = [
    "NONE",
    "NUMBER_WORDS",
    "Decision",
    "Entities",
    "IntentClassifier",
    "Ranked",
    "Steering",
    "SteeringConfig",
    "SteeringError",
    "Thresholds",
    "Understanding",
    "decide",
    "default_config",
    "extract_entities",
    "load_config",
    "named_config",
    "parse_config",
    "parse_number",
]
