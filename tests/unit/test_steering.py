"""Call steering's pure part: entities in spoken numbers, the decision thresholds, the classifier on the support
line's sentences, the configuration's checks, and the held-out benchmark set kept apart from the training set."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import yaml

from cti.speech.asr import normalize_phrase
from cti.steering import (
    NONE,
    Entities,
    Ranked,
    Steering,
    SteeringError,
    Thresholds,
    decide,
    default_config,
    extract_entities,
    parse_config,
    parse_number,
)

CALLER_NEEDS = {"billing", "technical", "sales", "order_status", "agent"}  # the held-out set's (not language)
HELD_OUT = Path(__file__).resolve().parents[2] / "bench" / "steering_questions" / "test.yaml"


@pytest.fixture(scope="module")
def steering() -> Steering:
    return Steering(default_config())


@pytest.mark.parametrize(("words", "language", "value"), [
    ("lima ratus ribu", "id", 500_000),
    ("dua belas juta tiga ratus ribu", "id", 12_300_000),
    ("seratus dua puluh lima ribu", "id", 125_000),
    ("sebelas", "id", 11),
    ("tiga ratus lima belas", "id", 315),
    ("two hundred fifty thousand", "en", 250_000),
    ("nineteen", "en", 19),
    ("one million two hundred thousand", "en", 1_200_000),
])
def test_numbers_said_in_words(words: str, language: str, value: int) -> None:
    assert parse_number(words.split(), language) == value  # type: ignore[arg-type]


def test_a_word_that_is_no_number_gives_none() -> None:
    assert parse_number(["lima", "pesanan"], "id") is None
    assert parse_number([], "en") is None


@pytest.mark.parametrize(("text", "language", "entities"), [
    ("nomor pesanan saya satu dua tiga empat lima enam tujuh delapan", "id", Entities(order_number="12345678")),
    ("has order eight seven six five four three two one shipped yet", "en", Entities(order_number="87654321")),
    ("order 123456789 please", "en", Entities(order_number="123456789")),
    ("tagihan saya lima ratus ribu padahal biasanya dua ratus ribu", "id", Entities(amount=500_000, currency="IDR")),
    ("I was charged five hundred dollars", "en", Entities(amount=500, currency="USD")),
    ("internet saya mati", "id", Entities(product="internet")),
    ("there's no picture on my TV", "en", Entities(product="television")),
    ("pulsa saya kepotong terus", "id", Entities(product="mobile")),
    ("satu dua tiga", "id", Entities()),  # too short for an order number, no currency: nothing
])
def test_entities(text: str, language: str, entities: Entities) -> None:
    assert extract_entities(text, language) == entities  # type: ignore[arg-type]


def test_entities_as_json_leave_out_what_was_not_said() -> None:
    assert Entities(order_number="12345678", product="internet").as_dict() == {
        "order_number": "12345678", "product": "internet"}


THRESHOLDS = Thresholds(route=0.7, confirm=0.4, margin=0.2)


@pytest.mark.parametrize(("ranking", "speech", "decision"), [
    ((Ranked("billing", 0.9), Ranked("sales", 0.05)), 1.0, "route"),
    ((Ranked("billing", 0.72), Ranked("sales", 0.6)), 1.0, "confirm"),  # sure, but not clearly ahead
    ((Ranked("billing", 0.55), Ranked("sales", 0.3)), 1.0, "confirm"),
    ((Ranked("billing", 0.3), Ranked("sales", 0.2)), 1.0, "reprompt"),
    ((Ranked(NONE, 0.9), Ranked("billing", 0.05)), 1.0, "reprompt"),
    ((Ranked("billing", 0.9), Ranked("sales", 0.05)), 0.6, "confirm"),  # barely heard: ask
    ((), 1.0, "reprompt"),
])
def test_decisions(ranking: tuple[Ranked, ...], speech: float, decision: str) -> None:
    assert decide(ranking, THRESHOLDS, speech_confidence=speech) == decision


def test_a_likely_out_of_domain_sentence_is_asked_again() -> None:
    ranking = (Ranked("billing", 0.55), Ranked(NONE, 0.3), Ranked("sales", 0.15))
    assert decide(ranking, THRESHOLDS) == "confirm"  # by default only a leading out-of-domain class reprompts
    strict = Thresholds(route=0.7, confirm=0.4, margin=0.2, none=0.25)
    assert decide(ranking, strict) == "reprompt"
    assert decide((Ranked("billing", 0.75), Ranked(NONE, 0.2)), strict) == "route"
    with pytest.raises(SteeringError, match="none must be"):
        Thresholds(none=0.0)


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("mau cek billing saya dong", "id", "billing"),
    ("internet di rumah saya mati sejak pagi", "id", "technical"),
    ("saya mau pasang tv kabel", "id", "sales"),
    ("pesanan saya belum sampai juga", "id", "order_status"),
    ("tolong sambungkan saya ke operator", "id", "agent"),
    ("why is my bill so high this month", "en", "billing"),
    ("my wifi stopped working", "en", "technical"),
    ("I'd like to sign up for fiber internet", "en", "sales"),
    ("where's my package", "en", "order_status"),
    ("let me talk to a real person", "en", "agent"),
])
def test_sentences_are_routed_to_their_intent(steering: Steering, text: str, language: str, intent: str) -> None:
    """As text (what a perfect recognizer hears): the likeliest intent, sure enough to route at 0.8 (the support
    line routes only from 0.95 of the recognizer's audio and asks the rest to confirm)."""
    understood = steering.understand(text, language)  # type: ignore[arg-type]
    assert (understood.intent, understood.decision) in ((intent, "route"), (intent, "confirm"))
    assert decide(steering.rank(text, language), Thresholds(route=0.8), speech_confidence=1.0) == "route"  # type: ignore[arg-type]
    assert understood.confidence >= 0.7
    assert understood.alternatives[0].intent == intent


@pytest.mark.parametrize(("text", "language"), [("selamat pagi", "id"), ("what time is it", "en"), ("", "en")])
def test_what_is_no_intent_is_asked_again(steering: Steering, text: str, language: str) -> None:
    understood = steering.understand(text, language)  # type: ignore[arg-type]
    assert (understood.intent, understood.decision) == (None, "reprompt")


def test_understanding_as_json(steering: Steering) -> None:
    out = steering.understand("nomor pesanan saya satu dua tiga empat lima enam tujuh delapan", "id").as_dict()
    assert out["intent"] == "order_status"
    assert out["entities"] == {"order_number": "12345678"}
    assert out["text"] == "nomor pesanan saya satu dua tiga empat lima enam tujuh delapan"
    assert out["alternatives"][0]["intent"] == "order_status"  # type: ignore[index]


def test_the_support_line_config() -> None:
    config = default_config()
    assert set(config.intents) == {*CALLER_NEEDS, "language"}
    assert config.service_numbers == ("1500200",)
    for language in ("id", "en"):
        for intent, by_language in config.intents.items():
            assert len(by_language[language]) >= (30 if intent == "language" else 50), (intent, language)


@pytest.mark.parametrize(("text", "language"), [
    ("bahasa inggris dong", "id"), ("bisa ganti ke bahasa inggris", "id"), ("english please", "id"),
    ("can we speak indonesian", "en"), ("bahasa indonesia please", "en"), ("switch to bahasa", "en"),
])
def test_asking_for_the_other_language_is_an_intent(steering: Steering, text: str, language: str) -> None:
    assert steering.understand(text, language).intent == "language"  # type: ignore[arg-type]


def test_what_the_recognizer_heard_is_learnt_besides_the_examples() -> None:
    data = {"intents": {"billing": {"en": ["my bill"]}, "order_status": {"en": ["where is my order"]}},
            "out_of_domain": {"en": ["hello"]},
            "heard": {"order_status": {"en": ["my bill due", " "]}, "none": {"en": ["hollow"]}}}
    config = parse_config(data)
    assert config.heard == {"en": (("my bill due", "order_status"), ("hollow", NONE))}
    assert config.examples("en") == [("my bill", "billing"), ("where is my order", "order_status"),
                                     ("hello", NONE)]
    assert config.training_examples("en") == [*config.examples("en"), ("my bill due", "order_status"),
                                              ("hollow", NONE)]
    assert config.sentences("en") == ("my bill", "where is my order", "hello")  # the language model's: as written
    assert Steering(config).understand("my bill due", "en").intent == "order_status"
    assert default_config(heard=False).heard == {}


def test_the_held_out_set_shares_no_sentence_with_the_training_set() -> None:
    config = default_config()
    held_out = yaml.safe_load(HELD_OUT.read_text())
    for language in ("id", "en"):
        training = {normalize_phrase(text) for text in config.sentences(language)}  # type: ignore[arg-type]
        items = [next(iter(item.items())) for item in held_out[language]]
        assert not {normalize_phrase(text) for _, text in items} & training
        per_intent = {intent: sum(1 for want, _ in items if want == intent) for intent in CALLER_NEEDS}
        assert min(per_intent.values()) >= 40, per_intent


@pytest.mark.parametrize(("data", "problem"), [
    ({}, "needs intents"),
    ({"intents": {"billing": {"id": ["tagihan"]}}}, "at least two intents"),
    ({"intents": {"none": {"id": ["x"]}, "b": {"id": ["y"]}}}, "not 'none'"),
    ({"intents": {"a": {"fr": ["x"]}, "b": {"id": ["y"]}}}, "unknown languages"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": [""]}}}, "list of sentences"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "thresholds": {"route": 0.3, "confirm": 0.5}},
     "confirm <= route"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "heard": {"c": {"id": ["x"]}}}, "unknown intent 'c'"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "heard": {"a": {"fr": ["x"]}}}, "texts per language"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "heard": {"a": {"id": "x"}}}, "a list of texts"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "hypotheses": {"count": 0}}, "hypotheses must be 1-50"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "hypotheses": {"size": 3}}, "count: N, scale: S"),
    ({"intents": {"a": {"id": ["x"]}, "b": {"id": ["y"]}}, "hypotheses": {"scale": "x"}}, "hypotheses: could not"),
])
def test_bad_configurations_are_named(data: object, problem: str) -> None:
    with pytest.raises(SteeringError, match=problem):
        parse_config(data)


def test_the_n_best_readings_are_weighted_by_their_scores() -> None:
    config = parse_config({"intents": {"a": {"en": ["x"]}, "b": {"en": ["y"]}},
                           "hypotheses": {"count": 3, "scale": 0.5}})
    assert (config.hypotheses, config.hypothesis_scale) == (3, 0.5)
    readings = Steering(config).readings("my bill", [("my bill", 0.0), ("", -0.5), ("my bell", -2.0),
                                                     ("a bill", -4.0), ("my pill", -6.0)])
    # The transcript first (the best score), the same text and an empty one not again, three readings in all.
    assert [text for text, _ in readings] == ["my bill", "my bell", "a bill"]
    total = 1 + math.exp(-1.0) + math.exp(-2.0)
    assert [round(w, 6) for _, w in readings] == [round(1 / total, 6), round(math.exp(-1.0) / total, 6),
                                                  round(math.exp(-2.0) / total, 6)]
    assert Steering(parse_config({"intents": {"a": {"en": ["x"]}, "b": {"en": ["y"]}}})).readings(
        "my bill", [("my bell", 0.0)]) == [("my bill", 1.0)]  # by default: the transcript alone


def test_the_intent_of_several_readings_is_their_weighted_mix(steering: Steering) -> None:
    one = dict((r.intent, r.probability) for r in steering.rank("saya mau cek tagihan", "id"))
    two = dict((r.intent, r.probability) for r in steering.rank("internet saya mati", "id"))
    mixed = steering.rank_readings([("saya mau cek tagihan", 0.75), ("internet saya mati", 0.25)], "id")
    assert [r.intent for r in mixed][:2] == ["billing", "technical"]
    for r in mixed:
        assert r.probability == pytest.approx(0.75 * one[r.intent] + 0.25 * two[r.intent], abs=2e-4)
    assert sum(r.probability for r in mixed) == pytest.approx(1.0, abs=1e-3)
    # understand reads the n-best the configuration asks for; the default configuration reads the transcript
    config = dataclasses.replace(default_config(), hypotheses=2, hypothesis_scale=1.0)
    understood = Steering(config).understand("saya mau cek tagihan", "id",
                                             hypotheses=[("internet saya mati", -math.log(3))])
    assert understood.alternatives[0] == Ranked("billing", mixed[0].probability)
