"""Prompt rendering: text + language -> files Asterisk plays, cached by content hash, installed per language.

``PromptRenderer.render("Saldo Anda ...", "id")`` synthesizes with espeak-ng (its command line by default; pyttsx3's
espeak driver is :class:`Pyttsx3Synthesizer`, see docs/speech.md for why it is not the default), converts
with sox to 8 kHz mono 16-bit ``.wav`` and 16 kHz raw ``.sln16``, installs both as
``<sounds>/<language>/cti/<hash>.{wav,sln16}`` and returns ``sound:cti/<hash>``: played on a channel whose language
is set, Asterisk picks the language folder and the format cheapest for the channel's codec. The hash covers
(engine, voice, rate, text), so identical text is rendered once and changed text gets a new file.

A prompt with personal data (a customer's balance) is never cached so: :meth:`PromptRenderer.render_once` renders
it under a random name in ``cti/once/`` and :meth:`PromptRenderer.release` deletes it once played; what older
versions cached of such prompts is deleted by text (:meth:`PromptRenderer.discard`) when the customer is erased
or the interaction's retention ends.

Synthesis runs on one dedicated worker thread (pyttsx3's espeak driver drives a process-global libespeak-ng and is
not thread-safe, so with it every call happens on that thread); espeak-ng and sox run as subprocesses. Nothing
blocks the event loop. Files are written under a temporary name and renamed, so Asterisk never plays half a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cti.types import Language

__all__ = [
    "DEFAULT_VOICES",
    "EspeakSynthesizer",
    "Prompt",
    "PromptRenderer",
    "Pyttsx3Synthesizer",
    "Synthesizer",
    "TtsError",
]


# espeak-ng voice identifiers (``espeak-ng --voices``): Indonesian is poz/id, American English gmw/en-us.
DEFAULT_VOICES: Mapping[Language, str] = {"id": "poz/id", "en": "gmw/en-us"}
_FORMAT_VERSION = 1
_SUBDIR = "cti"
_ONCE = "once"  # prompts rendered for one caller (personal data): deleted once played


class TtsError(RuntimeError):
    """Synthesis or conversion failed."""


class Synthesizer(Protocol):
    """Writes speech for ``text`` to a WAV file (any rate; it is converted afterwards)."""

    engine: str

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        """Blocking; called on the renderer's worker thread only."""
        ...


class Pyttsx3Synthesizer:
    """pyttsx3 with its espeak driver (libespeak-ng in process), confined to the calling worker thread."""

    engine = "pyttsx3-espeak"

    def __init__(self) -> None:
        self._engine: Any = None
        self._thread: int | None = None

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        """Render ``text`` to ``out`` (22050 Hz WAV, what libespeak-ng produces)."""
        if self._thread is None:
            self._thread = threading.get_ident()
        elif self._thread != threading.get_ident():
            raise TtsError("pyttsx3 must be used from one thread (its espeak driver is process-global)")
        engine = self._load()
        try:
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            engine.save_to_file(text, str(out))
            engine.runAndWait()
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise TtsError(f"pyttsx3 could not render {text[:40]!r} with voice {voice!r}: {exc}") from exc
        if not out.exists() or out.stat().st_size <= 44:
            raise TtsError(f"pyttsx3 produced no audio for {text[:40]!r} (voice {voice!r})")

    def _load(self) -> Any:
        if self._engine is None:
            try:
                import pyttsx3  # type: ignore[import-untyped]
                from pyttsx3.drivers import espeak as espeak_driver  # type: ignore[import-untyped]
            except (ImportError, OSError) as exc:
                raise TtsError(f"pyttsx3 with the espeak driver is not available: {exc}") from exc
            # The driver prints "Audio saved to ..." on stdout for every file; stdout is not its to use.
            espeak_driver.print = lambda *args, **kwargs: None
            try:
                self._engine = pyttsx3.init("espeak")
            except (RuntimeError, OSError) as exc:
                raise TtsError(f"cannot start pyttsx3's espeak driver: {exc}") from exc
        return self._engine


class EspeakSynthesizer:
    """The ``espeak-ng`` command line: same voices and sound as pyttsx3, one process per prompt."""

    engine = "espeak-ng"

    def __init__(self, binary: str = "espeak-ng") -> None:
        self._binary = binary

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        """Render ``text`` to ``out`` (22050 Hz WAV)."""
        # "poz/id" is pyttsx3's identifier; the command line takes the same path-style name.
        try:
            result = subprocess.run([self._binary, "-v", voice, "-s", str(rate), "-w", str(out), "--", text],
                                    capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TtsError(f"cannot run {self._binary}: {exc}") from exc
        if result.returncode != 0 or not out.exists():
            raise TtsError(f"espeak-ng failed ({result.returncode}): {result.stderr.decode(errors='replace')[:200]}")


@dataclass(frozen=True, slots=True)
class Prompt:
    """A rendered prompt: the media URI to play and the installed files."""

    uri: str
    key: str
    language: Language
    text: str
    wav: Path
    sln16: Path
    rendered: bool  # False: it was already in the cache


class PromptRenderer:
    """Renders and caches prompts under ``sounds_dir``; one worker thread does all synthesis."""

    def __init__(self, sounds_dir: Path, *, synthesizer: Synthesizer | None = None,
                 voices: Mapping[Language, str] = DEFAULT_VOICES, rate: int = 150, sox: str = "sox") -> None:
        self.sounds_dir = sounds_dir
        self.synthesizer: Synthesizer = synthesizer or EspeakSynthesizer()
        self.voices = dict(voices)
        self.rate = rate
        self._sox = sox
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cti-tts")
        self._lock = threading.Lock()
        self._inflight: dict[str, asyncio.Future[Prompt]] = {}
        self.renders = 0

    def key(self, text: str, language: Language) -> str:
        """The content hash naming the files of ``text`` in ``language``."""
        voice = self._voice(language)
        blob = json.dumps([_FORMAT_VERSION, self.synthesizer.engine, voice, self.rate, text], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def uri(self, text: str, language: Language) -> str:
        """The media URI ``text`` will have (rendered or not)."""
        return f"sound:{_SUBDIR}/{self.key(text, language)}"

    def paths(self, text: str, language: Language) -> tuple[Path, Path]:
        """(``.wav``, ``.sln16``) paths of ``text`` in ``language``."""
        base = self.sounds_dir / language / _SUBDIR / self.key(text, language)
        return base.with_suffix(".wav"), base.with_suffix(".sln16")

    def cached(self, text: str, language: Language) -> Prompt | None:
        """The prompt if both files are installed."""
        wav, sln16 = self.paths(text, language)
        if wav.exists() and sln16.exists():
            return Prompt(self.uri(text, language), self.key(text, language), language, text, wav, sln16, False)
        return None

    async def render(self, text: str, language: Language) -> Prompt:
        """Render on the worker thread unless cached; concurrent calls for the same text share one render."""
        text = _clean(text)
        hit = self.cached(text, language)
        if hit is not None:
            return hit
        key = f"{language}/{self.key(text, language)}"
        future = self._inflight.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = asyncio.ensure_future(loop.run_in_executor(self._executor, self.render_sync, text, language))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(future)

    async def render_all(self, prompts: Iterable[tuple[str, Language]]) -> dict[tuple[str, Language], Prompt]:
        """Pre-render a flow's static prompts (at start); returns (text, language) -> prompt."""
        items = list(dict.fromkeys((_clean(text), language) for text, language in prompts))
        results = await asyncio.gather(*(self.render(text, language) for text, language in items))
        return dict(zip(items, results, strict=True))

    def render_sync(self, text: str, language: Language) -> Prompt:
        """Blocking render (for scripts and the worker thread)."""
        text = _clean(text)
        with self._lock:
            hit = self.cached(text, language)
            if hit is not None:
                return hit
            wav, sln16 = self.paths(text, language)
            self._render_to(text, language, wav, sln16)
            return Prompt(self.uri(text, language), self.key(text, language), language, text, wav, sln16, True)

    async def render_once(self, text: str, language: Language) -> Prompt:
        """A prompt that carries personal data (a balance, an order's status), rendered for one caller: under
        a random name in ``<sounds>/<language>/cti/once/``, never found again by its text, deleted by
        :meth:`release` once played (and by :meth:`sweep` if the process died first)."""
        text = _clean(text)
        name = secrets.token_hex(12)
        base = self.sounds_dir / language / _SUBDIR / _ONCE / name
        wav, sln16 = base.with_suffix(".wav"), base.with_suffix(".sln16")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._render_to, text, language, wav, sln16)
        return Prompt(f"sound:{_SUBDIR}/{_ONCE}/{name}", name, language, text, wav, sln16, True)

    def release(self, uri: str) -> int:
        """Delete the files of a prompt :meth:`render_once` made; returns how many were deleted."""
        name = uri.removeprefix(f"sound:{_SUBDIR}/{_ONCE}/")
        if name == uri or not name.isalnum():
            return 0
        return sum(_unlink(folder / f"{name}{suffix}") for folder in self._once_folders()
                   for suffix in (".wav", ".sln16"))

    def sweep(self, older_than: float = 0.0) -> int:
        """Delete what :meth:`render_once` left behind (a process that died mid-call) older than ``older_than``
        seconds; returns how many files were deleted."""
        deadline = time.time() - older_than
        deleted = 0
        for folder in self._once_folders():
            for path in folder.glob("*"):
                with contextlib.suppress(OSError):
                    if path.is_file() and path.stat().st_mtime <= deadline:
                        deleted += _unlink(path)
        return deleted

    def discard(self, texts: Iterable[str]) -> int:
        """Delete the cached audio of ``texts`` in every language (erasure and retention of what a caller was
        told before such prompts were rendered once only); returns how many files were deleted."""
        deleted = 0
        for raw in texts:
            try:
                text = _clean(raw)
            except TtsError:
                continue
            for language in self.voices:
                deleted += sum(_unlink(path) for path in self.paths(text, language))
        return deleted

    def _once_folders(self) -> list[Path]:
        return [self.sounds_dir / language / _SUBDIR / _ONCE for language in self.voices]

    def _render_to(self, text: str, language: Language, wav: Path, sln16: Path) -> None:
        wav.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="cti-tts-") as tmp:
            raw = Path(tmp) / "raw.wav"
            self.synthesizer.synthesize(text, self._voice(language), self.rate, raw)
            tmp_wav = Path(tmp) / "out.wav"
            tmp_sln = Path(tmp) / "out.sln16"
            self._convert(raw, tmp_wav, ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
            self._convert(raw, tmp_sln, ["-t", "raw", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer",
                                         "-L"])
            _install(tmp_sln, sln16)
            _install(tmp_wav, wav)  # last: its presence means the prompt is complete
        self.renders += 1

    def close(self) -> None:
        """Stop the worker thread (pending renders finish first)."""
        self._executor.shutdown(wait=True)

    def _voice(self, language: Language) -> str:
        try:
            return self.voices[language]
        except KeyError:
            raise TtsError(f"no voice configured for language {language!r}") from None

    def _convert(self, source: Path, target: Path, options: list[str]) -> None:
        if shutil.which(self._sox) is None:
            raise TtsError(f"{self._sox} is not installed")
        result = subprocess.run([self._sox, "-q", str(source), *options, str(target)], capture_output=True,
                                timeout=60, check=False)
        if result.returncode != 0:
            raise TtsError(f"sox failed ({result.returncode}): {result.stderr.decode(errors='replace')[:200]}")


def _clean(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TtsError("empty prompt text")
    return cleaned


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _install(source: Path, target: Path) -> None:
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, staging)
    os.chmod(staging, 0o644)
    os.replace(staging, target)
