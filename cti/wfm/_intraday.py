"""Intraday: revise the rest of today's forecast from the calls seen so far.

The day's remaining intervals are scaled by how the day is running: ``(actual + prior) / (forecast + prior)``
over the elapsed intervals, where ``prior_calls`` keeps a quiet first interval from swinging the whole day
(early in the day the ratio stays near 1; it follows the actuals as they add up). AHT is revised the same
way, weighted by calls. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cti.wfm._errors import WfmError
from cti.wfm._forecast import IntervalForecast

__all__ = ["Reforecast", "reforecast_day"]


@dataclass(frozen=True, slots=True)
class Reforecast:
    volume_ratio: float
    aht_ratio: float
    elapsed: int
    """How many intervals are actuals; the rest are revised forecasts."""
    intervals: tuple[IntervalForecast, ...]


def reforecast_day(forecast: Sequence[IntervalForecast], actual_calls: Sequence[float],
                   actual_aht: Sequence[float | None] | None = None, *, prior_calls: float = 30.0) -> Reforecast:
    """``forecast`` is the whole day; ``actual_calls`` (and ``actual_aht``) the intervals elapsed so far."""
    elapsed = len(actual_calls)
    if elapsed > len(forecast):
        raise WfmError("more actual intervals than forecast intervals")
    if actual_aht is not None and len(actual_aht) != elapsed:
        raise WfmError("actual_aht must have one entry per actual interval")
    if prior_calls < 0 or any(c < 0 for c in actual_calls):
        raise WfmError("calls and prior_calls cannot be negative")
    past = forecast[:elapsed]
    volume_ratio = (sum(actual_calls) + prior_calls) / (sum(f.calls for f in past) + prior_calls) \
        if prior_calls or sum(f.calls for f in past) else 1.0
    aht_ratio = _aht_ratio(past, actual_calls, actual_aht, prior_calls)
    intervals = [IntervalForecast(f.start, float(actual_calls[i]),
                                  actual_aht[i] if actual_aht is not None and actual_aht[i] is not None
                                  else f.aht_seconds)
                 for i, f in enumerate(past)]
    intervals += [IntervalForecast(f.start, f.calls * volume_ratio,
                                   None if f.aht_seconds is None else f.aht_seconds * aht_ratio)
                  for f in forecast[elapsed:]]
    return Reforecast(volume_ratio, aht_ratio, elapsed, tuple(intervals))


def _aht_ratio(past: Sequence[IntervalForecast], calls: Sequence[float], aht: Sequence[float | None] | None,
               prior_calls: float) -> float:
    if aht is None:
        return 1.0
    known = [(n, a, f.aht_seconds) for n, a, f in zip(calls, aht, past, strict=True)
             if a is not None and f.aht_seconds is not None and n > 0]
    forecast_mean = [f.aht_seconds for f in past if f.aht_seconds is not None]
    if not known or not forecast_mean:
        return 1.0
    typical = sum(forecast_mean) / len(forecast_mean)
    actual = sum(n * a for n, a, _ in known) + prior_calls * typical
    expected = sum(n * f for n, _, f in known) + prior_calls * typical
    return actual / expected if expected > 0 else 1.0
