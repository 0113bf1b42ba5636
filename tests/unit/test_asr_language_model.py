"""The open question's language model: a correct ARPA file (every history's distribution sums to one), the words
written as the dictionary's entries, PocketSphinx loads it with the dictation's own weights (not the grammars'), and
a dictation's live cepstral mean starts from the telephone line's."""

from __future__ import annotations

import math
from pathlib import Path

import pocketsphinx  # type: ignore[import-untyped]
import pytest

from cti.speech.asr import AsrError, Dictation, PocketSphinxOptions
from cti.speech.asr._lm import arpa
from cti.speech.asr._pocketsphinx import TELEPHONE_CMN, _add_search, _afresh
from cti.steering import default_config


def _parse(text: str) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float], dict[int, int]]:
    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    declared: dict[int, int] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("\\"):
            section = line
            continue
        fields = line.split()
        if not fields:
            continue
        if section == "\\data\\":
            n, count = fields[1].split("=")
            declared[int(n)] = int(count)
            continue
        n = int(section[1])
        gram = tuple(fields[1:1 + n])
        probs[gram] = 10 ** float(fields[0])
        if len(fields) > 1 + n:
            backoffs[gram] = 10 ** float(fields[1 + n])
    return probs, backoffs, declared


def _probability(probs: dict[tuple[str, ...], float], backoffs: dict[tuple[str, ...], float],
                 history: tuple[str, ...], word: str) -> float:
    if (*history, word) in probs:
        return probs[(*history, word)]
    if not history:
        return 0.0
    return backoffs.get(history, 1.0) * _probability(probs, backoffs, history[1:], word)


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_history_sums_to_one(language: str) -> None:
    text = arpa(Dictation.of(default_config().sentences(language)))  # type: ignore[arg-type]
    probs, backoffs, declared = _parse(text)
    assert declared == {n: sum(1 for g in probs if len(g) == n) for n in (1, 2, 3)}
    vocabulary = [g[0] for g in probs if len(g) == 1 and g[0] != "<s>"]
    assert probs[("<s>",)] < 1e-90  # never predicted
    histories = [(), *(g for g in probs if len(g) < 3 and g[-1] != "</s>")]
    for history in histories:
        total = sum(_probability(probs, backoffs, history, w) for w in vocabulary)
        assert math.isclose(total, 1.0, abs_tol=1e-4), (history, total)


def test_a_small_model_by_hand() -> None:
    probs, backoffs, _ = _parse(arpa(Dictation.of(["cek tagihan", "cek saldo"]), lambda w: f"{w}_id"))
    # Unigrams: c(w) + 1 over N + V (N = 6 predicted tokens: 2 x cek, tagihan, saldo, 2 x </s>; V = 4 words).
    assert math.isclose(probs[("cek_id",)], 3 / 10, rel_tol=1e-5)
    assert math.isclose(probs[("saldo_id",)], 2 / 10, rel_tol=1e-5)
    # "cek" is followed by 2 different words in 2 occurrences: P(saldo | cek) = (1 + 2 * 0.2) / (2 + 2).
    assert math.isclose(probs[("cek_id", "saldo_id")], 1.4 / 4, rel_tol=1e-5)
    assert math.isclose(backoffs[("cek_id",)], 2 / 4, rel_tol=1e-5)


def test_pocketsphinx_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "open.arpa"
    path.write_text(arpa(Dictation.of(default_config().sentences("en"))))
    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    decoder.add_lm_file("open", str(path))


def test_a_dictation_needs_a_sentence() -> None:
    with pytest.raises(AsrError):
        Dictation.of(["", "  "])
    assert Dictation.of(["Cek  Saldo!", "cek saldo"]).sentences == ("cek saldo",)


def test_a_dictation_search_has_its_own_weights_and_the_grammars_keep_theirs() -> None:
    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    _add_search(decoder, "open", arpa(Dictation.of(["my bill", "my order"])), False, {"lw": 10.0, "fwdflat": False})
    assert (decoder.config["lw"], decoder.config["fwdflat"]) == (6.5, True)
    _add_search(decoder, "menu", "#JSGF V1.0;\ngrammar cti;\npublic <menu> = ( bill ) | ( order );\n", True)
    assert (decoder.config["lw"], decoder.config["fwdflat"]) == (6.5, True)


def test_a_dictation_starts_from_the_telephone_lines_cepstral_mean() -> None:
    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    prior = ",".join(f"{c:.2f}" for c in TELEPHONE_CMN)
    _afresh(decoder, prior)
    assert [round(float(c), 2) for c in decoder.get_cmn(False).split(",")] == list(TELEPHONE_CMN)
    _afresh(decoder)  # a menu's session: the model's own starting point
    assert decoder.get_cmn(False).split(",")[:3] == ["40", "3", "-1"]
    assert PocketSphinxOptions().dictation_cmn == TELEPHONE_CMN
