"""The PocketSphinx engine's pure decision helpers: speech the grammar path calls silence, the offset per line."""

from __future__ import annotations

import pytest

from cti.speech.asr._pocketsphinx import PocketSphinxOptions, _line_offset, unexplained_ms


def test_speech_inside_the_phrase_is_explained() -> None:
    # Decode from 300 ms; silence for frames 0-69 (300-1000 ms) and 120-150 (1500-1810 ms); speech 1000-1500 ms.
    assert unexplained_ms([(1000, 1500)], [(0, 69), (120, 150)], 300) == 0


def test_speech_the_path_calls_silence_is_counted_per_stretch() -> None:
    quiet = [(0, 69), (80, 99), (150, 200)]  # 300-1000, 1100-1300 and 1800-2310 ms
    spoken = [(1000, 1500), (2000, 2400)]
    assert unexplained_ms(spoken, quiet, 300) == 200 + 310


def test_no_speech_or_no_silence_is_nothing_unexplained() -> None:
    assert unexplained_ms([], [(0, 50)], 0) == 0
    assert unexplained_ms([(0, 500)], [], 0) == 0


@pytest.mark.parametrize(("peak_to_noise_db", "expected"), [
    (None, -9.0), (0.0, -9.0), (13.0, -9.0), (16.0, -5.5), (19.0, -2.0), (40.0, -2.0),
])
def test_rejection_offset_follows_the_line(peak_to_noise_db: float | None, expected: float) -> None:
    assert _line_offset(PocketSphinxOptions(), peak_to_noise_db) == pytest.approx(expected)


def test_one_offset_when_the_clean_one_is_off() -> None:
    assert _line_offset(PocketSphinxOptions(offset=-8.0, clean_offset=None), 30.0) == -8.0
