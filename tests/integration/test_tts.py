"""Prompt rendering with the real espeak-ng, pyttsx3 and sox: formats, install paths, cache hits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from cti.speech import EspeakSynthesizer, PromptRenderer, Pyttsx3Synthesizer, TtsError
from tests.support import unavailable


@pytest.fixture(autouse=True)
def _tools() -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")


async def test_render_installs_both_formats_per_language(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path)
    try:
        prompts = await renderer.render_all([("Untuk Bahasa Indonesia tekan satu", "id"),
                                             ("For English press two", "en"),
                                             ("For English   press two", "en")])
    finally:
        renderer.close()
    assert len(prompts) == 2
    assert renderer.renders == 2
    for (text, language), prompt in prompts.items():
        assert prompt.uri == f"sound:cti/{prompt.key}"
        assert prompt.wav == tmp_path / language / "cti" / f"{prompt.key}.wav"
        assert prompt.sln16 == tmp_path / language / "cti" / f"{prompt.key}.sln16"
        with wave.open(str(prompt.wav)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            seconds = w.getnframes() / 8000
        assert 1.0 < seconds < 4.0
        # Raw signed linear at 16 kHz: twice the samples of the 8 kHz file, within a few samples.
        assert abs(prompt.sln16.stat().st_size / 2 / 16000 - seconds) < 0.01
        assert renderer.uri(text, language) == prompt.uri


async def test_cache_hits_do_not_render_again(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path)
    try:
        first = await renderer.render("Saldo Anda seribu rupiah", "id")
        mtime = first.wav.stat().st_mtime_ns
        second = await renderer.render("Saldo Anda seribu rupiah", "id")
        changed = await renderer.render("Saldo Anda dua ribu rupiah", "id")
    finally:
        renderer.close()
    assert first.rendered and not second.rendered
    assert second.uri == first.uri and second.wav.stat().st_mtime_ns == mtime
    assert changed.uri != first.uri
    assert renderer.renders == 2
    # A fresh renderer (a restart) finds the files: the cache is the sounds directory.
    again = PromptRenderer(tmp_path)
    assert again.cached("Saldo Anda seribu rupiah", "id") == second
    again.close()


async def test_concurrent_renders_of_one_text_share_the_work(tmp_path: Path) -> None:
    import asyncio

    renderer = PromptRenderer(tmp_path, synthesizer=EspeakSynthesizer())
    try:
        results = await asyncio.gather(*(renderer.render("Mohon tunggu sebentar", "id") for _ in range(5)))
    finally:
        renderer.close()
    assert len({r.uri for r in results}) == 1
    assert renderer.renders == 1


def test_engine_and_voice_are_part_of_the_hash(tmp_path: Path) -> None:
    pyttsx3_renderer = PromptRenderer(tmp_path, synthesizer=Pyttsx3Synthesizer())
    cli = PromptRenderer(tmp_path)
    slow = PromptRenderer(tmp_path, rate=120)
    keys = {r.key("Halo", "id") for r in (pyttsx3_renderer, cli, slow)} | {pyttsx3_renderer.key("Halo", "en")}
    assert len(keys) == 4
    for r in (pyttsx3_renderer, cli, slow):
        r.close()


def test_errors(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, synthesizer=EspeakSynthesizer("/nonexistent/espeak-ng"), voices={"id": "x"})
    with pytest.raises(TtsError, match="cannot run"):
        renderer.render_sync("Halo", "id")
    with pytest.raises(TtsError, match="no voice configured"):
        renderer.render_sync("Hello", "en")
    with pytest.raises(TtsError, match="empty"):
        renderer.render_sync("   ", "id")
    renderer.close()


def test_pyttsx3_synthesizer_writes_speech(tmp_path: Path) -> None:
    # In a process of its own: pyttsx3 keeps one engine per process (its espeak driver is process-global), and in
    # a full run an earlier test's renderer may hold it on another thread; cti itself renders on one thread.
    out = tmp_path / "halo.wav"
    render = ("import sys; from pathlib import Path; from cti.speech import Pyttsx3Synthesizer; "
              "Pyttsx3Synthesizer().synthesize(sys.argv[1], 'poz/id', 150, Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", render, "halo apa kabar", str(out)], check=True, timeout=60,
                   cwd=Path(__file__).resolve().parents[2])
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)
        assert w.getnframes() > 22050 // 2
