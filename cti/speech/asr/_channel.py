"""Adapt a wideband Sphinx acoustic model to the telephone line it actually hears.

PocketSphinx's en-us model was trained on 16 kHz speech; callers arrive through a 300-3400 Hz telephone band, with
line noise and after the recognizer's own noise suppressor. Seven of the model's 25 mel filters (130 Hz and 3.4-6.8
kHz) then see only the dither floor, the cepstra shrink and shift, and every Gaussian is off. With no 8 kHz model in
reach, the model is moved to the line instead: a linear map per feature stream (static cepstra, deltas, delta-deltas)
takes a wideband cepstral vector to what the same sound looks like after the telephone path. Applied to every
Gaussian, the map moves the means (``A m``) and the variances (``diag(A S A^T)`` plus what the map does not explain).
This is the stereo-data form of MLLR: the map is estimated by least squares from pairs of the same utterance,
wideband and through the telephone path (``bench/asr_channel.py``), and shipped as ``telephone_channel.json``.

The map is tied to the feature extraction it was estimated with (filterbank, lifter, feature type): a model whose
``feat.params`` differs, or one that is already narrowband, is used as it is. The adapted model is written once to
a cache directory, keyed by a hash of the source model and the map.

The front end here (:func:`cepstra`) reimplements PocketSphinx's (pre-emphasis, Hamming window, unit-area mel
filters on rounded FFT bins, natural log, orthonormal DCT-II, sinusoidal lifter) for the estimation only; decoding
uses PocketSphinx's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["ChannelMap", "FrontEnd", "adapt_model", "cepstra", "deltas", "estimate", "read_feat_params",
           "read_gaussians", "telephone_map", "telephone_model", "write_gaussians"]

_Array = npt.NDArray[np.float64]
_MAGIC = 0x11223344
_DATA = Path(__file__).with_name("telephone_channel.json")
_STREAMS = ("static", "delta", "delta_delta")


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """The feature extraction parameters a map belongs to (PocketSphinx's names and defaults)."""

    rate: int = 16000
    lowerf: float = 130.0
    upperf: float = 6800.0
    nfilt: int = 25
    ncep: int = 13
    lifter: int = 22
    nfft: int = 512
    feat: str = "1s_c_d_dd"

    @classmethod
    def of(cls, params: Mapping[str, str]) -> FrontEnd:
        """The front end described by a model's ``feat.params`` (missing entries take PocketSphinx's defaults)."""
        return cls(lowerf=float(params.get("lowerf", 133.33334)), upperf=float(params.get("upperf", 6855.4976)),
                   nfilt=int(params.get("nfilt", 40)), ncep=int(params.get("ncep", 13)),
                   lifter=int(params.get("lifter", 0)), feat=params.get("feat", "1s_c_d_dd"))


def read_feat_params(hmm: Path) -> dict[str, str]:
    """A model's ``feat.params`` as ``{name: value}`` (names without the leading dash)."""
    params: dict[str, str] = {}
    source = hmm / "feat.params"
    if source.exists():
        for line in source.read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2:
                params[parts[0].lstrip("-")] = parts[1].strip()
    return params


# -- front end (estimation only) ---------------------------------------------------------------------------------

def _mel_filters(fe: FrontEnd) -> _Array:
    def mel(f: float) -> float:
        return float(2595.0 * np.log10(1.0 + f / 700.0))

    def hz(m: float) -> float:
        return float(700.0 * (10.0 ** (m / 2595.0) - 1.0))

    low, step = mel(fe.lowerf), (mel(fe.upperf) - mel(fe.lowerf)) / (fe.nfilt + 1)
    bin_hz = fe.rate / fe.nfft
    bins = np.arange(fe.nfft // 2 + 1) * bin_hz
    filters = np.zeros((fe.nfilt, bins.size))
    for i in range(fe.nfilt):
        left, centre, right = (round(hz(low + (i + j) * step) / bin_hz) * bin_hz for j in range(3))
        rising = (bins - left) / (centre - left)
        falling = (right - bins) / (right - centre)
        shape = np.minimum(rising, falling) * 2.0 / (right - left)
        filters[i] = np.where((bins >= left) & (bins <= right) & (shape > 0), shape, 0.0)
    return filters


def _dct(fe: FrontEnd) -> _Array:
    i = np.arange(fe.ncep)[:, None]
    j = np.arange(fe.nfilt)[None, :]
    scale = np.where(i == 0, np.sqrt(1.0 / fe.nfilt), np.sqrt(2.0 / fe.nfilt))
    basis: _Array = np.cos(np.pi * i * (j + 0.5) / fe.nfilt) * scale
    return basis


def _lifter(fe: FrontEnd) -> _Array:
    weights: _Array = np.ones(fe.ncep)
    if fe.lifter > 0:
        weights[1:] = 1.0 + fe.lifter / 2.0 * np.sin(np.pi * np.arange(1, fe.ncep) / fe.lifter)
    return weights


def cepstra(samples: _Array, fe: FrontEnd = FrontEnd()) -> _Array:
    """Cepstra (frames x ncep) of 16-bit-scaled samples at ``fe.rate``, as PocketSphinx computes them."""
    x = np.asarray(samples, dtype=np.float64)
    x = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    length, shift = int(0.025625 * fe.rate), fe.rate // 100
    count = 1 + (len(x) - length) // shift
    if count < 1:
        return np.zeros((0, fe.ncep))
    frames = x[np.arange(length)[None, :] + shift * np.arange(count)[:, None]] * np.hamming(length)
    power = np.abs(np.fft.rfft(frames, fe.nfft)) ** 2
    logmel = np.log(np.maximum(power @ _mel_filters(fe).T, 1e-10))
    out: _Array = (logmel @ _dct(fe).T) * _lifter(fe)
    return out


def deltas(cep: _Array) -> tuple[_Array, _Array]:
    """PocketSphinx's ``1s_c_d_dd`` dynamic features: c[t+2] - c[t-2] and d[t+1] - d[t-1] (edges repeated)."""
    padded = np.pad(cep, ((3, 3), (0, 0)), mode="edge")
    delta = padded[4:] - padded[:-4]
    delta_delta = delta[2:] - delta[:-2]
    return delta[1:-1], delta_delta


# -- the map ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChannelMap:
    """Per stream a ``ncep x ncep`` matrix and the residual variance it leaves, for one front end."""

    front_end: FrontEnd
    matrices: tuple[_Array, _Array, _Array]
    residual: tuple[_Array, _Array, _Array]
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({
            "note": self.note,
            "front_end": asdict(self.front_end),
            "streams": {name: {"matrix": np.round(m, 6).tolist(), "residual": np.round(r, 6).tolist()}
                        for name, m, r in zip(_STREAMS, self.matrices, self.residual, strict=True)},
        }, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ChannelMap:
        data = json.loads(text)
        streams = data["streams"]
        matrices = tuple(np.array(streams[name]["matrix"], dtype=np.float64) for name in _STREAMS)
        residual = tuple(np.array(streams[name]["residual"], dtype=np.float64) for name in _STREAMS)
        return cls(FrontEnd(**data["front_end"]), matrices, residual, data.get("note", ""))  # type: ignore[arg-type]

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


def estimate(pairs: Iterable[tuple[_Array, _Array]], fe: FrontEnd = FrontEnd(), *, note: str = "") -> ChannelMap:
    """Least-squares map from wideband to telephone features, over time-aligned pairs of the same utterance.

    Each pair is (wideband samples, the same through the telephone path, both at ``fe.rate``); features are
    mean-normalized per utterance, as the decoder's batch CMN does.
    """
    sources: list[list[_Array]] = [[], [], []]
    targets: list[list[_Array]] = [[], [], []]
    for wide, line in pairs:
        a, b = cepstra(wide, fe), cepstra(line, fe)
        n = min(len(a), len(b))
        a, b = a[:n] - a[:n].mean(axis=0), b[:n] - b[:n].mean(axis=0)
        for k, (x, y) in enumerate(zip((a, *deltas(a)), (b, *deltas(b)), strict=True)):
            sources[k].append(x)
            targets[k].append(y)
    matrices: list[_Array] = []
    residual: list[_Array] = []
    for x_parts, y_parts in zip(sources, targets, strict=True):
        x, y = np.vstack(x_parts), np.vstack(y_parts)
        solution, *_ = np.linalg.lstsq(x, y, rcond=None)
        matrices.append(solution.T)
        residual.append((y - x @ solution).var(axis=0))
    return ChannelMap(fe, (matrices[0], matrices[1], matrices[2]), (residual[0], residual[1], residual[2]), note)


def telephone_map() -> ChannelMap:
    """The map shipped with cti (estimated by ``bench/asr_channel.py`` for PocketSphinx's en-us front end)."""
    return ChannelMap.from_json(_DATA.read_text())


# -- model files ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Gaussians:
    """A Sphinx ``means`` or ``variances`` file: header text and values (codebooks x streams x densities x dims)."""

    header: bytes
    values: npt.NDArray[np.float32]


def _checksum(words: npt.NDArray[np.uint32]) -> int:
    # Sphinx's bio checksum: rotate left by 20 bits, add the next 32-bit word.
    total = 0
    for word in words.tolist():
        total = (((total << 20) | (total >> 12)) + word) & 0xFFFFFFFF
    return total


def read_gaussians(path: Path) -> Gaussians:
    """Read a little-endian Sphinx-3 Gaussian parameter file."""
    data = path.read_bytes()
    end = data.find(b"endhdr\n")
    if end < 0:
        raise ValueError(f"{path}: not a Sphinx parameter file")
    header_end = offset = end + len(b"endhdr\n")
    if struct.unpack_from("<I", data, offset)[0] != _MAGIC:
        raise ValueError(f"{path}: big-endian or corrupt parameter file")
    offset += 4
    n_codebooks, n_streams, n_densities = struct.unpack_from("<3i", data, offset)
    offset += 12
    widths = struct.unpack_from(f"<{n_streams}i", data, offset)
    offset += 4 * n_streams
    if len(set(widths)) != 1:
        raise ValueError(f"{path}: streams of different widths {widths} are not supported")
    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    if count != n_codebooks * n_streams * n_densities * widths[0]:
        raise ValueError(f"{path}: {count} values for {n_codebooks}x{n_streams}x{n_densities}x{widths[0]}")
    values = np.frombuffer(data, "<f4", count, offset).reshape(n_codebooks, n_streams, n_densities, widths[0])
    return Gaussians(data[:header_end], values.copy())


def write_gaussians(path: Path, gaussians: Gaussians) -> None:
    """Write ``gaussians`` in the same format, with Sphinx's checksum (the header says ``chksum0 yes``)."""
    n_codebooks, n_streams, n_densities, width = gaussians.values.shape
    ints = np.array([n_codebooks, n_streams, n_densities, *([width] * n_streams), gaussians.values.size], "<i4")
    values = np.ascontiguousarray(gaussians.values, dtype="<f4").reshape(-1)
    body = ints.tobytes() + values.tobytes()
    tail = b""
    if b"chksum0 yes" in gaussians.header:
        tail = struct.pack("<I", _checksum(np.concatenate([ints.view("<u4"), values.view("<u4")])))
    path.write_bytes(gaussians.header + struct.pack("<I", _MAGIC) + body + tail)


def adapt_model(source: Path, channel: ChannelMap, target: Path, *, variance_scale: float = 1.0) -> None:
    """Write ``source`` moved through ``channel`` to ``target`` (means and variances; other files copied), variances
    multiplied by ``variance_scale``."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file() and item.name not in ("means", "variances"):
            shutil.copyfile(item, target / item.name)
    means = read_gaussians(source / "means")
    variances = read_gaussians(source / "variances")
    if means.values.shape != variances.values.shape or means.values.shape[1] != 3 \
            or means.values.shape[3] != channel.front_end.ncep:
        raise ValueError(f"{source}: expected 3 streams of {channel.front_end.ncep}, got {means.values.shape}")
    new_means = np.empty_like(means.values)
    new_variances = np.empty_like(variances.values)
    for stream, (matrix, rest) in enumerate(zip(channel.matrices, channel.residual, strict=True)):
        m = means.values[:, stream].astype(np.float64)
        v = variances.values[:, stream].astype(np.float64)
        new_means[:, stream] = m @ matrix.T
        new_variances[:, stream] = (np.einsum("ik,...k,ik->...i", matrix, v, matrix) + rest) * variance_scale
    write_gaussians(target / "means", Gaussians(means.header, new_means))
    write_gaussians(target / "variances", Gaussians(variances.header, new_variances))


def default_cache_dir() -> Path:
    """``$CTI_MODEL_CACHE``, else ``$XDG_CACHE_HOME/cti/asr``, else ``~/.cache/cti/asr``."""
    if explicit := os.environ.get("CTI_MODEL_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cti" / "asr"


def telephone_model(source: Path, channel: ChannelMap | None = None, *, cache_dir: Path | None = None,
                    variance_scale: float = 1.0) -> Path:
    """``source`` adapted to the telephone line, or ``source`` itself when the map does not fit it.

    It fits a model whose ``feat.params`` names the map's front end and whose band reaches above 4 kHz (an 8 kHz
    model already matches the line). The adapted copy is built once, atomically, under ``cache_dir``.
    ``variance_scale`` widens every Gaussian of the copy (a copy of its own).
    """
    channel = channel or telephone_map()
    params = read_feat_params(source)
    fe = FrontEnd.of(params)
    wanted = channel.front_end
    if fe.upperf <= 4000 or (fe.lowerf, fe.upperf, fe.nfilt, fe.lifter, fe.feat) != \
            (wanted.lowerf, wanted.upperf, wanted.nfilt, wanted.lifter, wanted.feat):
        return source
    digest = hashlib.sha256()
    for name in ("means", "variances", "mdef", "feat.params"):
        part = source / name
        if part.exists():
            digest.update(part.read_bytes())
    digest.update(channel.digest().encode())
    if variance_scale != 1.0:
        digest.update(f"variances x{variance_scale}".encode())
    target = (cache_dir or default_cache_dir()) / f"{source.name}-telephone-{digest.hexdigest()[:16]}"
    if (target / "variances").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        adapt_model(source, channel, building, variance_scale=variance_scale)
        try:
            building.rename(target)
        except OSError:  # another process got there first
            if not (target / "variances").exists():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target
