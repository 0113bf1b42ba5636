"""Synthetic call history with a known weekly pattern: for tests, demos and benchmarks.

The expected calls of a minute are ``calls_per_day x weekday factor x the hour's share of the day x
(1 + growth_per_week x weeks since start)``. Arrivals are Poisson around that; handle times are
exponential around ``aht_seconds x the hour's AHT factor``; a share of callers abandon (no handle time).
Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from cti.wfm._errors import WfmError
from cti.wfm._forecast import InteractionSample

__all__ = ["DEFAULT_HOURLY_SHAPE", "SyntheticPattern", "expected_calls", "synthetic_history"]

DEFAULT_HOURLY_SHAPE: Final = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.0, 6.0, 9.0, 10.0, 9.5,
    7.0, 8.0, 9.0, 8.5, 7.0, 5.0, 3.5, 2.5, 2.0, 1.5, 1.0, 0.5,
)
"""Relative calls per hour of day: quiet nights, a morning peak and a smaller afternoon one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticPattern:
    calls_per_day: float = 2000.0
    weekday_factors: tuple[float, ...] = (1.15, 1.05, 1.0, 1.0, 0.95, 0.55, 0.3)
    """Monday first."""
    hourly_shape: tuple[float, ...] = DEFAULT_HOURLY_SHAPE
    growth_per_week: float = 0.0
    aht_seconds: float = 240.0
    hourly_aht_factors: tuple[float, ...] = (1.0,) * 24
    abandon_share: float = 0.05

    def __post_init__(self) -> None:
        if len(self.weekday_factors) != 7 or len(self.hourly_shape) != 24 or len(self.hourly_aht_factors) != 24:
            raise WfmError("a pattern needs 7 weekday factors, 24 hourly shares and 24 hourly AHT factors")
        if sum(self.hourly_shape) <= 0 or min(self.hourly_shape) < 0:
            raise WfmError("the hourly shape must be non-negative and not all zero")


def expected_calls(pattern: SyntheticPattern, start: datetime, interval_minutes: int, count: int) -> list[float]:
    """The true mean number of calls in each of ``count`` intervals from ``start`` (local midnight or not)."""
    if interval_minutes % 15:
        raise WfmError("interval_minutes must be a multiple of 15")
    out = []
    for i in range(count):
        begin = start + timedelta(minutes=interval_minutes * i)
        out.append(sum(_rate_per_minute(pattern, start, begin + timedelta(minutes=m))
                       for m in range(0, interval_minutes, 15)) * 15.0)
    return out


def synthetic_history(pattern: SyntheticPattern, *, queue: str, start: datetime, days: int,
                      seed: int = 0) -> list[InteractionSample]:
    """Calls for ``days`` days from ``start``, in arrival order."""
    if start.tzinfo is None:
        raise WfmError("start must be an aware datetime")
    rng = np.random.default_rng(seed)
    samples: list[InteractionSample] = []
    for quarter in range(days * 96):
        begin = start + timedelta(minutes=15 * quarter)
        mean = _rate_per_minute(pattern, start, begin) * 15.0
        count = int(rng.poisson(mean))
        if not count:
            continue
        offsets = np.sort(rng.uniform(0.0, 900.0, count))
        hour = begin.hour
        handles = rng.exponential(pattern.aht_seconds * pattern.hourly_aht_factors[hour], count)
        abandoned = rng.uniform(0.0, 1.0, count) < pattern.abandon_share
        for offset, handle, gone in zip(offsets, handles, abandoned, strict=True):
            samples.append(InteractionSample(queue, begin + timedelta(seconds=float(offset)),
                                             None if gone else round(float(handle), 3)))
    return samples


def _rate_per_minute(pattern: SyntheticPattern, start: datetime, at: datetime) -> float:
    share = pattern.hourly_shape[at.hour] / sum(pattern.hourly_shape)
    weeks = (at - start).total_seconds() / (7 * 86400)
    return (pattern.calls_per_day * pattern.weekday_factors[at.weekday()] * share / 60.0
            * (1.0 + pattern.growth_per_week * weeks))
