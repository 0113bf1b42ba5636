"""Speech to text of a recorded comment (the post-call survey's): PocketSphinx with its general English language
model, over the same telephone-adapted acoustic model as the menus.

Only English: PocketSphinx ships no Indonesian model, and an Indonesian comment is kept as audio alone
(docs/speech.md). A general model on telephone audio gets the gist, not every word; the audio is kept beside
the transcript."""

from __future__ import annotations

import io
import threading
import wave
from typing import Any

import numpy as np

from cti.speech._audio import resample
from cti.speech.asr._pocketsphinx import PocketSphinxOptions, _afresh, default_model_dir
from cti.speech.asr._types import AsrError, ModelNotFound

__all__ = ["PocketSphinxTranscriber"]


class PocketSphinxTranscriber:
    """Thread-safe (one decoder, used one comment at a time); the model loads at the first comment."""

    languages = ("en",)

    def __init__(self, options: PocketSphinxOptions | None = None) -> None:
        self._options = options or PocketSphinxOptions()
        self._lock = threading.Lock()
        self._decoder: Any = None

    def transcribe(self, wav: bytes, language: str) -> str | None:
        if language not in self.languages:
            return None
        pcm = _pcm16k(wav)
        with self._lock:
            decoder = self._decoder = self._decoder or self._load()
            _afresh(decoder)  # one caller's comment must not change how the next one's is heard
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        text = " ".join(hypothesis.hypstr.split()) if hypothesis is not None else ""
        return text or None

    def _load(self) -> Any:
        import pocketsphinx  # type: ignore[import-untyped]

        hmm, dictionary, _ = self._options.resolved()
        lm = (self._options.model_dir or default_model_dir()) / "en-us.lm.bin"
        if not lm.exists():
            raise ModelNotFound(f"PocketSphinx language model missing: {lm}")
        try:
            return pocketsphinx.Decoder(pocketsphinx.Config(
                hmm=str(hmm), lm=str(lm), dict=str(dictionary), loglevel="FATAL", dither=False))
        except (RuntimeError, ValueError) as exc:
            raise AsrError(f"cannot load the PocketSphinx dictation model: {exc}") from exc


def _pcm16k(wav: bytes) -> bytes:
    """16-bit mono 16 kHz samples of a WAV recording (Asterisk's ``wav`` is 8 kHz)."""
    try:
        with wave.open(io.BytesIO(wav)) as audio:
            if audio.getsampwidth() != 2 or audio.getnchannels() != 1 or audio.getframerate() not in (8000, 16000):
                raise AsrError(f"not 16-bit mono 8 or 16 kHz audio ({audio.getsampwidth() * 8}-bit, "
                               f"{audio.getnchannels()} channels, {audio.getframerate()} Hz)")
            rate, pcm = audio.getframerate(), audio.readframes(audio.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AsrError(f"not a WAV recording: {exc}") from exc
    pcm = pcm if rate == 16000 else resample(pcm, 8000, 16000)
    # The decoder's own dither draws from a generator that runs on from one comment to the next, so the same
    # words were heard differently the second time; this noise floor (against digital silence reaching the log
    # filterbank as minus infinity) is the same for every comment.
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    noise = np.random.default_rng(0).integers(-2, 3, size=samples.size)
    floored: bytes = np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes()
    return floored
