"""The telephone adaptation of PocketSphinx's wideband model: model files, front end, map, cache."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from cti.speech.asr import _channel as channel
from cti.speech.asr._pocketsphinx import PocketSphinxOptions, default_model_dir
from tests.support import unavailable


@pytest.fixture(scope="module")
def hmm() -> Path:
    try:
        path = default_model_dir() / "en-us"
    except ImportError:
        unavailable("pocketsphinx is not installed")
        raise
    return path


def _identity(fe: channel.FrontEnd) -> channel.ChannelMap:
    eye = np.eye(fe.ncep)
    zero = np.zeros(fe.ncep)
    return channel.ChannelMap(fe, (eye, eye, eye), (zero, zero, zero))


def test_parameter_files_round_trip_with_their_checksum(hmm: Path, tmp_path: Path) -> None:
    for name in ("means", "variances"):
        read = channel.read_gaussians(hmm / name)
        assert read.values.shape == (42, 3, 128, 13)
        channel.write_gaussians(tmp_path / name, read)
        assert (tmp_path / name).read_bytes() == (hmm / name).read_bytes()


def test_garbage_is_not_a_parameter_file(tmp_path: Path) -> None:
    (tmp_path / "means").write_bytes(b"s3\nversion 1.0\n")
    with pytest.raises(ValueError, match="not a Sphinx parameter file"):
        channel.read_gaussians(tmp_path / "means")


def test_identity_map_leaves_the_model_as_it_is(hmm: Path, tmp_path: Path) -> None:
    channel.adapt_model(hmm, _identity(channel.telephone_map().front_end), tmp_path / "same")
    for item in hmm.iterdir():
        assert (tmp_path / "same" / item.name).read_bytes() == item.read_bytes(), item.name


def test_shipped_map_moves_means_and_variances(hmm: Path, tmp_path: Path) -> None:
    shipped = channel.telephone_map()
    assert shipped.front_end == channel.FrontEnd.of(channel.read_feat_params(hmm))
    channel.adapt_model(hmm, shipped, tmp_path / "tel")
    before = channel.read_gaussians(hmm / "means").values[:, 0].astype(np.float64)
    after = channel.read_gaussians(tmp_path / "tel" / "means").values[:, 0].astype(np.float64)
    np.testing.assert_allclose(after, before @ shipped.matrices[0].T, rtol=1e-4, atol=1e-3)
    variances = channel.read_gaussians(tmp_path / "tel" / "variances").values
    assert (variances > 0).all()
    assert (tmp_path / "tel" / "mdef").read_bytes() == (hmm / "mdef").read_bytes()


def test_telephone_model_is_built_once_and_reused(hmm: Path, tmp_path: Path) -> None:
    first = channel.telephone_model(hmm, cache_dir=tmp_path)
    assert first != hmm and first.parent == tmp_path
    stamp = (first / "means").stat().st_mtime_ns
    assert channel.telephone_model(hmm, cache_dir=tmp_path) == first
    assert (first / "means").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no half-built directory left


def test_widened_copy_is_a_model_of_its_own(hmm: Path, tmp_path: Path) -> None:
    plain = channel.telephone_model(hmm, cache_dir=tmp_path)
    wide = channel.telephone_model(hmm, cache_dir=tmp_path, variance_scale=1.7)
    assert wide != plain and wide.parent == tmp_path
    assert (wide / "means").read_bytes() == (plain / "means").read_bytes()
    np.testing.assert_allclose(channel.read_gaussians(wide / "variances").values,
                               channel.read_gaussians(plain / "variances").values * 1.7, rtol=1e-6)


def test_narrowband_or_foreign_models_are_used_as_they_are(hmm: Path, tmp_path: Path) -> None:
    for name, upperf in (("narrow", "3500"), ("other", "7000")):
        model = tmp_path / name
        shutil.copytree(hmm, model)
        params = (model / "feat.params").read_text().replace("-upperf 6800", f"-upperf {upperf}")
        (model / "feat.params").write_text(params)
        assert channel.telephone_model(model, cache_dir=tmp_path / "cache") == model
    assert not (tmp_path / "cache").exists()


def test_options_choose_the_adapted_model(hmm: Path) -> None:
    adapted, _, _ = PocketSphinxOptions().resolved()
    assert adapted != hmm and (adapted / "means").exists()
    plain, _, _ = PocketSphinxOptions(telephone=False).resolved()
    assert plain == hmm


def test_options_choose_the_clean_line_model(hmm: Path) -> None:
    adapted, _, _ = PocketSphinxOptions().resolved()
    wide = PocketSphinxOptions().clean_model()
    assert wide is not None and wide not in (adapted, hmm)
    assert PocketSphinxOptions(clean_variance_scale=None).clean_model() is None
    assert PocketSphinxOptions(telephone=False).clean_model() is None


def test_front_end_matches_pocketsphinx(hmm: Path, tmp_path: Path) -> None:
    # The map is estimated on these cepstra and applied to PocketSphinx's: their conventions (DCT scaling, lifter)
    # must agree. Batch CMN leaves the utterance's mean cepstrum in the decoder, to compare with ours.
    import pocketsphinx  # type: ignore[import-untyped]

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        unavailable("espeak-ng and sox are needed")
    raw, wide = tmp_path / "raw.wav", tmp_path / "wide.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), "check my balance please"], check=True)
    subprocess.run(["sox", "-q", "-R", str(raw), "-r", "16000", "-b", "16", str(wide)], check=True)
    with wave.open(str(wide)) as f:
        pcm = f.readframes(f.getnframes())
    decoder = pocketsphinx.Decoder(hmm=str(hmm), lm=None, dict=str(hmm.parent / "cmudict-en-us.dict"),
                                   allphone=str(hmm.parent / "en-us-phone.lm.bin"), loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    theirs = np.array([float(v) for v in decoder.get_cmn().split(",")])
    ours = channel.cepstra(np.frombuffer(pcm, "<i2").astype(np.float64)).mean(axis=0)
    assert abs(ours[0] - theirs[0]) < 0.1 * abs(theirs[0])
    assert np.abs(ours[1:] - theirs[1:]).max() < 3.0, (ours.round(2), theirs.round(2))
    assert np.corrcoef(ours[1:], theirs[1:])[0, 1] > 0.98


def test_estimate_of_an_unchanged_channel_is_the_identity() -> None:
    rng = np.random.default_rng(5)
    samples = [rng.standard_normal(16000) * 1000 * np.sin(np.linspace(0, 9, 16000)) ** 2 for _ in range(3)]
    fitted = channel.estimate((x, 0.5 * x) for x in samples)  # a gain is a constant in the log: CMN removes it
    for matrix, rest in zip(fitted.matrices, fitted.residual, strict=True):
        np.testing.assert_allclose(matrix, np.eye(13), atol=1e-6)
        assert rest.max() < 1e-9
    again = channel.ChannelMap.from_json(fitted.to_json())
    np.testing.assert_allclose(again.matrices[0], fitted.matrices[0], atol=1e-6)
    assert again.front_end == fitted.front_end


def test_without_a_writable_cache_the_model_is_used_as_it_is(hmm: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from cti.speech.asr import _pocketsphinx as pocketsphinx_engine

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CTI_MODEL_CACHE", str(blocker / "cache"))
    pocketsphinx_engine._telephone_model.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="cti.speech.asr"):
            used, _, _ = PocketSphinxOptions().resolved()
        assert used == hmm
        assert "using the model as it is" in caplog.text
    finally:
        pocketsphinx_engine._telephone_model.cache_clear()
