"""Spoken chat replies: the virtual agent's text as a WAV file, with the IVR's synthesizer and voices.

Unlike IVR prompts (:class:`cti.speech.PromptRenderer`), replies are not cached: one may tell a customer's balance,
and the next customer asks something else anyway. Each is synthesized (espeak-ng, the IVR's voice for the
language) and converted by sox to 16 kHz mono 16-bit PCM, which every browser plays and which is wideband, unlike
the telephone's 8 kHz, in a temporary folder that is deleted before the bytes are returned. One worker thread does
the work, as for prompts, so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from cti.speech._tts import DEFAULT_VOICES, EspeakSynthesizer, Synthesizer, TtsError
from cti.types import Language

__all__ = ["MAX_SPOKEN", "SpokenReplies"]

MAX_SPOKEN: Final = 1500
"""Characters said at most (an FAQ answer is a few hundred; the rest would be a minute of speech)."""


class SpokenReplies:
    """:class:`cti.services.ReplyVoice` with espeak-ng and sox."""

    def __init__(self, *, synthesizer: Synthesizer | None = None, voices: Mapping[Language, str] = DEFAULT_VOICES,
                 rate: int = 150, sox: str = "sox") -> None:
        self.synthesizer: Synthesizer = synthesizer or EspeakSynthesizer()
        self.voices = dict(voices)
        self.rate = rate
        self._sox = sox
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cti-voice")

    async def speak(self, text: str, language: Language) -> bytes:
        """``text`` said in ``language``: a 16 kHz mono WAV file's bytes; :class:`TtsError` if it cannot be."""
        cleaned = " ".join(text.split())[:MAX_SPOKEN]
        if not cleaned:
            raise TtsError("nothing to say")
        voice = self.voices.get(language)
        if voice is None:
            raise TtsError(f"no voice configured for language {language!r}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._render, cleaned, voice)

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _render(self, text: str, voice: str) -> bytes:
        if shutil.which(self._sox) is None:
            raise TtsError(f"{self._sox} is not installed")
        with tempfile.TemporaryDirectory(prefix="cti-voice-") as tmp:
            raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
            self.synthesizer.synthesize(text, voice, self.rate, raw)
            result = subprocess.run([self._sox, "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e",
                                     "signed-integer", str(out)], capture_output=True, timeout=60, check=False)
            if result.returncode != 0:
                raise TtsError(f"sox failed ({result.returncode}): {result.stderr.decode(errors='replace')[:200]}")
            return out.read_bytes()
