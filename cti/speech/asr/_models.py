"""Loaded models, shared by every recognizer in the process and keyed by model path.

Loading an acoustic model takes from half a second (PocketSphinx en-us) to several seconds and hundreds of MB
(Vosk), so it happens once per process: the composition root creates one :class:`ModelCache` and hands it to every
recognizer it builds. :func:`shared_models` is that cache for callers without a composition root (benchmarks, tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["ModelCache", "shared_models"]

T = TypeVar("T")


class ModelCache:
    """Thread-safe ``key -> loaded object``; a model is loaded at most once even when asked for concurrently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, Any] = {}
        self._loading: dict[Hashable, threading.Lock] = {}
        self.loads = 0

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The object cached under ``key``, calling ``load`` (outside the cache lock) the first time."""
        with self._lock:
            if key in self._entries:
                return self._entries[key]  # type: ignore[no-any-return]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]  # type: ignore[no-any-return]
            value = load()
            with self._lock:
                self._entries[key] = value
                self._loading.pop(key, None)
                self.loads += 1
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries


_SHARED = ModelCache()


def shared_models() -> ModelCache:
    """The process-wide cache (one per process, by design: models are the expensive part)."""
    return _SHARED
