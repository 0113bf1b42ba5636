"""The IVR adapter's bridge to the recognizers, with the real PocketSphinx: menus' sessions given back to the pool
when a listen ends without a result, and the open question heard through it (16 kHz in, as Asterisk's tap sends)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cti.ivr import GrammarChoice
from cti.speech.asr import AsrError, Dictation, PocketSphinxRecognizer, build_recognizers
from cti.steering import default_config
from cti.telephony import AsrBridge, open_questions
from tests.support import caller_speech, unavailable

MENU = (GrammarChoice("sales", "1", ("sales",)), GrammarChoice("agent", "2", ("agent",)))


@pytest.fixture(scope="module")
def bridge() -> AsrBridge:
    try:
        recognizers = build_recognizers()
    except AsrError as exc:
        unavailable(f"PocketSphinx model unavailable: {exc}")
        raise
    return AsrBridge(recognizers, open_questions=open_questions(["support"], recognizers))


def tap_audio(text: str, voice: str, directory: Path) -> bytes:
    """What the IVR's tap receives of a caller saying ``text``: the line's mu-law, as 16 kHz signed linear."""
    ulaw = caller_speech(text, voice, directory)
    return subprocess.run(["sox", "-t", "ul", "-r", "8000", "-c", "1", str(ulaw), "-t", "raw", "-r", "16000", "-e",
                           "signed", "-b", "16", "-c", "1", "-", "pad", "0.3", "0.5"],
                          capture_output=True, check=True).stdout


def test_a_menu_session_closed_without_a_result_gives_its_decoder_back(bridge: AsrBridge) -> None:
    english = bridge.recognizers["en"]
    assert isinstance(english, PocketSphinxRecognizer)
    bridge.start(MENU, ("en",)).close()
    loaded = english.decoders_loaded
    for _ in range(3):  # a key pressed at every menu: no new decoder for the next one
        session = bridge.start(MENU, ("en",))
        session.feed(b"\0" * 640)
        session.close()
        session.close()  # idempotent
    assert english.decoders_loaded == loaded
    assert session.finish().intent is None  # nothing more after a close


def test_the_open_question_is_heard_through_the_bridge(bridge: AsrBridge, tmp_path: Path) -> None:
    pcm = tap_audio("saya mau bicara dengan operator", "id", tmp_path)
    session = bridge.start_open("support", "id")
    for offset in range(0, len(pcm), 640):  # 20 ms frames
        session.feed(pcm[offset:offset + 640])
    heard = session.finish()
    assert (heard.intent, heard.decision, heard.text) == ("agent", "route", "saya mau bicara dengan operator")
    assert heard.alternatives[0] == "agent"
    with pytest.raises(AsrError, match="no open question 'sales'"):
        bridge.start_open("sales", "id")


def test_the_open_question_decodes_with_a_dictionary_of_its_own_words(bridge: AsrBridge) -> None:
    """An n-gram search is compiled over the whole dictionary: with CMUdict's 134,000 words that took seconds per
    decoder; the open question's decoders know only its sentences' words."""
    english = bridge.recognizers["en"]
    assert isinstance(english, PocketSphinxRecognizer)
    session = english.start_dictation(Dictation.of(default_config().sentences("en")), "en")
    try:
        decoder = session._require().grammar
        assert decoder.lookup_word("operator") is not None
        assert decoder.lookup_word("zebra") is None
    finally:
        session.close()
