"""Volume and AHT forecasts per queue and interval, chosen by a holdout backtest.

History comes as plain samples (one per offered call: queue, arrival, handle seconds if answered). They are
counted on a fixed grid of ``interval_minutes`` (15, 30 or 60) that starts at a local midnight: the
``start`` datetime's own time zone decides what "midnight" and "Monday" mean. The season is the week
(day of week x time of day), so a grid position and the same position a week later are alike.

Models, each fitted on the history minus the last ``holdout_days`` days and scored on those days:

* ``seasonal_naive``: the same interval one week earlier;
* ``holt_winters``: additive Holt-Winters (level, trend, weekly season) on the intervals, smoothing
  constants picked from a grid by one-step-ahead squared error;
* ``daily_profile``: additive Holt-Winters on the daily totals (trend, day-of-week season) spread over the
  day by each weekday's intraday profile (recent weeks weigh more). Usually best when intervals are noisy.

The model with the lowest WAPE is refitted on the whole history and forecasts ``horizon_days`` days.
AHT per interval is the volume-weighted mean handle time of the same weekday and time, recent weeks
weighing more, falling back to the same time on any day and then to the queue's mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from cti.wfm._errors import WfmError

__all__ = [
    "INTERVAL_CHOICES",
    "MODELS",
    "Forecast",
    "InteractionSample",
    "IntervalForecast",
    "IntervalSeries",
    "ModelScore",
    "aggregate",
    "forecast_queue",
    "mape",
    "wape",
]

Array = npt.NDArray[np.float64]
INTERVAL_CHOICES: Final = (15, 30, 60)
MODELS: Final = ("seasonal_naive", "holt_winters", "daily_profile")
_WEEK_DECAY: Final = 0.75  # weight of a week relative to the one after it, for profiles and AHT
_ALPHAS: Final = (0.02, 0.05, 0.1, 0.2, 0.35)
_BETAS: Final = (0.0, 0.01, 0.05)
_GAMMAS: Final = (0.05, 0.1, 0.2, 0.35, 0.5)


@dataclass(frozen=True, slots=True)
class InteractionSample:
    """One offered call. ``handle_seconds`` (talk + wrap-up) is ``None`` when it was never answered."""

    queue: str
    arrived_at: datetime
    handle_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class IntervalSeries:
    """A queue's history on the interval grid from ``start`` (a local midnight), whole days long."""

    queue: str
    start: datetime
    interval_minutes: int
    calls: tuple[float, ...]
    handled: tuple[int, ...]
    """Answered calls per interval (those with a handle time)."""
    handle_seconds: tuple[float, ...]
    """Sum of the answered calls' handle seconds per interval."""

    @property
    def per_day(self) -> int:
        return 1440 // self.interval_minutes

    @property
    def days(self) -> int:
        return len(self.calls) // self.per_day

    def interval_start(self, index: int) -> datetime:
        return self.start + timedelta(minutes=self.interval_minutes * index)


@dataclass(frozen=True, slots=True)
class IntervalForecast:
    start: datetime
    calls: float
    aht_seconds: float | None
    """``None`` when the queue has never had an answered call."""


@dataclass(frozen=True, slots=True)
class ModelScore:
    model: str
    wape: float
    """Σ|actual - forecast| / Σ actual over the holdout (``inf`` when no call was offered then)."""
    mape: float | None
    """Mean of |actual - forecast| / actual over the holdout intervals with calls."""


@dataclass(frozen=True, slots=True)
class Forecast:
    queue: str
    interval_minutes: int
    model: str
    intervals: tuple[IntervalForecast, ...]
    backtest: tuple[ModelScore, ...]
    """Every model tried, best first."""
    holdout_days: int
    aht_wape: float | None
    """Weighted absolute error of the AHT forecast over the holdout (weights: answered calls)."""


def aggregate(samples: Iterable[InteractionSample], *, start: datetime, days: int,
              interval_minutes: int) -> dict[str, IntervalSeries]:
    """Count samples per queue on the grid ``[start, start + days)``; samples outside are ignored."""
    _check_grid(start, days, interval_minutes)
    count = days * 1440 // interval_minutes
    origin = start.timestamp()
    width = interval_minutes * 60.0
    totals: dict[str, tuple[list[float], list[int], list[float]]] = {}
    for sample in samples:
        index = math.floor((sample.arrived_at.timestamp() - origin) / width)
        if not 0 <= index < count:
            continue
        queue_totals = totals.get(sample.queue)
        if queue_totals is None:
            queue_totals = totals[sample.queue] = ([0.0] * count, [0] * count, [0.0] * count)
        calls, handled, seconds = queue_totals
        calls[index] += 1.0
        if sample.handle_seconds is not None:
            handled[index] += 1
            seconds[index] += sample.handle_seconds
    return {queue: IntervalSeries(queue, start, interval_minutes, tuple(c), tuple(h), tuple(s))
            for queue, (c, h, s) in sorted(totals.items())}


def forecast_queue(series: IntervalSeries, *, horizon_days: int = 7, holdout_days: int = 7,
                   models: Sequence[str] = MODELS) -> Forecast:
    """Backtest ``models`` on the last ``holdout_days`` days, then forecast ``horizon_days`` with the best."""
    if horizon_days < 1 or holdout_days < 1:
        raise WfmError("horizon_days and holdout_days must be at least 1")
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise WfmError(f"unknown forecast models {unknown}; choose from {', '.join(MODELS)}")
    per_day = series.per_day
    calls = np.asarray(series.calls, dtype=np.float64)
    train_days = series.days - holdout_days
    usable = [m for m in models if train_days >= _MIN_DAYS[m]]
    if not usable:
        need = min(_MIN_DAYS[m] for m in models) + holdout_days
        raise WfmError(f"queue {series.queue!r}: {series.days} days of history; at least {need} are needed "
                       f"({holdout_days} of them held out for the backtest)")
    split = train_days * per_day
    weekday = series.start.weekday()
    scores = []
    for model in usable:
        predicted = _MODEL_FUNCTIONS[model](calls[:split], per_day, weekday, holdout_days)
        scores.append(ModelScore(model, wape(calls[split:], predicted), mape(calls[split:], predicted)))
    scores.sort(key=lambda s: (s.wape, MODELS.index(s.model)))
    best = scores[0].model
    future = _MODEL_FUNCTIONS[best](calls, per_day, weekday, horizon_days)
    handled = np.asarray(series.handled, dtype=np.float64)
    seconds = np.asarray(series.handle_seconds, dtype=np.float64)
    aht_future = _aht_profile(handled, seconds, per_day, horizon_days)
    aht_holdout = _aht_profile(handled[:split], seconds[:split], per_day, holdout_days)
    end = series.interval_start(len(series.calls))
    intervals = tuple(
        IntervalForecast(end + timedelta(minutes=series.interval_minutes * i), float(future[i]),
                         None if math.isnan(aht_future[i]) else float(aht_future[i]))
        for i in range(len(future)))
    return Forecast(series.queue, series.interval_minutes, best, intervals, tuple(scores), holdout_days,
                    _aht_error(handled[split:], seconds[split:], aht_holdout))


def wape(actual: Sequence[float] | Array, predicted: Sequence[float] | Array) -> float:
    """Weighted absolute percentage error as a fraction: Σ|a - f| / Σ a."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(predicted, dtype=np.float64)
    total = float(a.sum())
    error = float(np.abs(a - f).sum())
    if total == 0.0:
        return 0.0 if error == 0.0 else math.inf
    return error / total


def mape(actual: Sequence[float] | Array, predicted: Sequence[float] | Array) -> float | None:
    """Mean absolute percentage error as a fraction, over the points whose actual value is not zero."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(predicted, dtype=np.float64)
    mask = a != 0.0
    if not mask.any():
        return None
    return float(np.mean(np.abs(a[mask] - f[mask]) / np.abs(a[mask])))


# -- models: (history, intervals per day, weekday of the first day, days to forecast) -> forecast --------

def _seasonal_naive(y: Array, per_day: int, weekday: int, days: int) -> Array:
    season = 7 * per_day
    last = y[-season:]
    reps = -(-days * per_day // season)
    return np.tile(last, reps)[: days * per_day].copy()


def _holt_winters_intervals(y: Array, per_day: int, weekday: int, days: int) -> Array:
    return np.maximum(_holt_winters(y, 7 * per_day, days * per_day), 0.0)


def _daily_profile(y: Array, per_day: int, weekday: int, days: int) -> Array:
    history_days = len(y) // per_day
    matrix = y[: history_days * per_day].reshape(history_days, per_day)
    totals = matrix.sum(axis=1)
    daily = np.maximum(_holt_winters(totals, 7, days), 0.0)
    profiles = _weekday_profiles(matrix, totals, weekday)
    out = np.empty(days * per_day)
    for d in range(days):
        day_of_week = (weekday + history_days + d) % 7
        out[d * per_day:(d + 1) * per_day] = daily[d] * profiles[day_of_week]
    return out


_MODEL_FUNCTIONS: Final[Mapping[str, Callable[[Array, int, int, int], Array]]] = {
    "seasonal_naive": _seasonal_naive,
    "holt_winters": _holt_winters_intervals,
    "daily_profile": _daily_profile,
}
_MIN_DAYS: Final = {"seasonal_naive": 7, "holt_winters": 14, "daily_profile": 14}


def _holt_winters(y: Array, period: int, horizon: int) -> Array:
    """Additive Holt-Winters; the whole (alpha, beta, gamma) grid runs at once as vectors, best one-step SSE wins."""
    alpha, beta, gamma = (np.array(values, dtype=np.float64) for values in zip(
        *[(a, b, g) for a in _ALPHAS for b in _BETAS for g in _GAMMAS], strict=True))
    first = y[:period]
    level0 = float(first.mean())
    trend0 = float(y[period:2 * period].mean() - level0) / period if len(y) >= 2 * period else 0.0
    size = len(alpha)
    level = np.full(size, level0)
    trend = np.full(size, trend0)
    season = np.tile(first - level0, (size, 1))
    sse = np.zeros(size)
    for t in range(period, len(y)):
        position = t % period
        previous_season = season[:, position]
        value = y[t]
        error = value - (level + trend + previous_season)
        sse += error * error
        new_level = alpha * (value - previous_season) + (1.0 - alpha) * (level + trend)
        trend = beta * (new_level - level) + (1.0 - beta) * trend
        season[:, position] = gamma * (value - new_level) + (1.0 - gamma) * previous_season
        level = new_level
    best = int(np.argmin(sse))
    steps = np.arange(1, horizon + 1)
    positions = (len(y) + steps - 1) % period
    result: Array = level[best] + steps * trend[best] + season[best, positions]
    return result


def _weekday_profiles(matrix: Array, totals: Array, first_weekday: int) -> list[Array]:
    """Each weekday's share of the day's calls per interval; recent weeks weigh more."""
    history_days, per_day = matrix.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = matrix / totals[:, None]
    overall_weights = np.zeros(history_days)
    profiles: list[Array] = []
    for d in range(history_days):
        if totals[d] > 0:
            overall_weights[d] = _WEEK_DECAY ** ((history_days - 1 - d) / 7)
    fallback = (np.average(shares[overall_weights > 0], axis=0, weights=overall_weights[overall_weights > 0])
                if overall_weights.any() else np.full(per_day, 1.0 / per_day))
    for day_of_week in range(7):
        days = [d for d in range(history_days) if (first_weekday + d) % 7 == day_of_week and totals[d] > 0]
        if not days:
            profiles.append(fallback)
            continue
        weights = np.array([_WEEK_DECAY ** ((history_days - 1 - d) // 7) for d in days])
        profiles.append(np.average(shares[days], axis=0, weights=weights))
    return profiles


def _aht_profile(handled: Array, seconds: Array, per_day: int, days: int) -> Array:
    """AHT per future interval: same weekday and time, else same time any day, else the queue mean; NaN if none."""
    history_days = len(handled) // per_day
    season = 7 * per_day
    weights = np.array([_WEEK_DECAY ** ((history_days * per_day - 1 - t) // season) for t in range(len(handled))])
    count_w = handled * weights
    seconds_w = seconds * weights
    total_count = float(count_w.sum())
    overall = float(seconds_w.sum()) / total_count if total_count > 0 else math.nan
    by_time_count = count_w.reshape(history_days, per_day).sum(axis=0)
    by_time_seconds = seconds_w.reshape(history_days, per_day).sum(axis=0)
    out = np.empty(days * per_day)
    start = history_days * per_day
    for i in range(days * per_day):
        slot = (start + i) % season
        same = np.arange(slot, len(handled), season)
        c = float(count_w[same].sum())
        if c > 0:
            out[i] = float(seconds_w[same].sum()) / c
        elif by_time_count[slot % per_day] > 0:
            out[i] = by_time_seconds[slot % per_day] / by_time_count[slot % per_day]
        else:
            out[i] = overall
    return out


def _aht_error(handled: Array, seconds: Array, predicted: Array) -> float | None:
    mask = handled > 0
    if not mask.any():
        return None
    actual = seconds[mask] / handled[mask]
    guess = np.nan_to_num(predicted[mask], nan=0.0)
    return float(np.sum(np.abs(actual - guess) * handled[mask]) / np.sum(actual * handled[mask]))


def _check_grid(start: datetime, days: int, interval_minutes: int) -> None:
    if interval_minutes not in INTERVAL_CHOICES:
        raise WfmError(f"interval_minutes must be one of {INTERVAL_CHOICES}, not {interval_minutes}")
    if start.tzinfo is None or start.utcoffset() is None:
        raise WfmError("start must be an aware datetime (its time zone defines days and weekdays)")
    if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0):
        raise WfmError(f"start must be a local midnight, not {start.isoformat()}")
    if days < 1:
        raise WfmError("the history must be at least one day long")
