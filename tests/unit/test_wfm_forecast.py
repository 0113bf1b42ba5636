"""Forecasts: aggregation, error measures, models on exact patterns, recovering a known seasonality, intraday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.wfm import (
    MODELS,
    InteractionSample,
    IntervalForecast,
    IntervalSeries,
    SyntheticPattern,
    WfmError,
    aggregate,
    expected_calls,
    forecast_queue,
    mape,
    reforecast_day,
    synthetic_history,
    wape,
)

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 4, 1, tzinfo=WIB)


def series(calls: list[float], *, interval: int = 60, aht: float = 200.0) -> IntervalSeries:
    return IntervalSeries("q", MONDAY, interval, tuple(calls), tuple(int(c) for c in calls),
                          tuple(c * aht for c in calls))


def test_wape_and_mape_exactly() -> None:
    assert wape([10, 0, 5], [8, 1, 5]) == 3 / 15
    assert mape([10, 0, 5], [8, 1, 5]) == pytest.approx(0.1)
    assert wape([0, 0], [0, 0]) == 0.0
    assert wape([0, 0], [1, 0]) == float("inf")
    assert mape([0, 0], [1, 0]) is None


def test_aggregate_counts_per_queue_and_interval() -> None:
    samples = [
        InteractionSample("sales", MONDAY + timedelta(minutes=5), 100.0),
        InteractionSample("sales", MONDAY + timedelta(minutes=29, seconds=59), None),
        InteractionSample("sales", MONDAY + timedelta(minutes=30), 300.0),
        InteractionSample("support", MONDAY + timedelta(hours=23, minutes=59), 60.0),
        InteractionSample("sales", MONDAY - timedelta(seconds=1), 1.0),  # before the grid
        InteractionSample("sales", MONDAY + timedelta(days=1), 1.0),  # after it
        InteractionSample("sales", datetime(2024, 3, 31, 17, 45, tzinfo=UTC), 500.0),  # 00:45 WIB
    ]
    grid = aggregate(samples, start=MONDAY, days=1, interval_minutes=30)
    assert sorted(grid) == ["sales", "support"]
    sales = grid["sales"]
    assert (sales.days, sales.per_day, len(sales.calls)) == (1, 48, 48)
    assert sales.calls[:3] == (2.0, 2.0, 0.0)
    assert sales.handled[:2] == (1, 2)
    assert sales.handle_seconds[:2] == (100.0, 800.0)
    assert grid["support"].calls[47] == 1.0
    assert sales.interval_start(47) == MONDAY + timedelta(hours=23, minutes=30)


def test_grid_must_start_at_a_local_midnight() -> None:
    with pytest.raises(WfmError, match="midnight"):
        aggregate([], start=MONDAY + timedelta(hours=1), days=1, interval_minutes=30)
    with pytest.raises(WfmError, match="interval_minutes"):
        aggregate([], start=MONDAY, days=1, interval_minutes=20)
    with pytest.raises(WfmError, match="aware"):
        aggregate([], start=datetime(2024, 4, 1), days=1, interval_minutes=30)


def test_an_exactly_weekly_pattern_is_forecast_exactly() -> None:
    week = [float((h % 24) * (1 + d % 7)) for d in range(7) for h in range(24)]
    result = forecast_queue(series(week * 3), horizon_days=7, holdout_days=7)
    assert result.model == "seasonal_naive"
    assert result.backtest[0] == type(result.backtest[0])("seasonal_naive", 0.0, 0.0)
    assert [round(i.calls, 9) for i in result.intervals] == week
    assert result.intervals[0].start == MONDAY + timedelta(days=21)
    assert {i.aht_seconds for i in result.intervals if i.calls} == {200.0}
    assert result.aht_wape == 0.0
    assert [s.wape for s in result.backtest] == sorted(s.wape for s in result.backtest)


def test_short_history_uses_only_the_models_it_supports() -> None:
    week = [float(h % 24) for h in range(24 * 7)]
    result = forecast_queue(series(week + week[:24]), horizon_days=1, holdout_days=1)
    assert [s.model for s in result.backtest] == ["seasonal_naive"]
    assert len(result.intervals) == 24
    with pytest.raises(WfmError, match="8 are needed"):
        forecast_queue(series(week), horizon_days=1, holdout_days=1)
    with pytest.raises(WfmError, match="unknown forecast models"):
        forecast_queue(series(week * 3), models=("prophet",))


def test_forecast_recovers_a_known_weekly_seasonality_with_trend() -> None:
    pattern = SyntheticPattern(calls_per_day=1500, growth_per_week=0.04, aht_seconds=240)
    history = synthetic_history(pattern, queue="sales", start=MONDAY, days=35, seed=7)
    grid = aggregate(history, start=MONDAY, days=35, interval_minutes=60)["sales"]
    result = forecast_queue(grid, horizon_days=7, holdout_days=7)
    truth = expected_calls(pattern, MONDAY, 60, 42 * 24)[35 * 24:]
    predicted = [i.calls for i in result.intervals]
    assert result.model in MODELS
    assert {s.model for s in result.backtest} == set(MODELS)
    assert result.backtest[0].model == result.model
    assert all(0 < s.wape < 0.3 for s in result.backtest)
    assert wape(truth, predicted) < 0.08
    daily_truth = [sum(truth[d * 24:(d + 1) * 24]) for d in range(7)]
    daily_predicted = [sum(predicted[d * 24:(d + 1) * 24]) for d in range(7)]
    assert wape(daily_truth, daily_predicted) < 0.05
    # Quiet nights stay quiet, the weekday peak stays the peak.
    assert max(predicted[:6]) < 1.0
    assert max(range(24), key=lambda h: predicted[h]) in (9, 10, 11)
    weighted = sum(i.calls * (i.aht_seconds or 0) for i in result.intervals) / sum(predicted)
    assert abs(weighted - 240) / 240 < 0.05
    busy = [i.aht_seconds for i in result.intervals if i.calls > 60 and i.aht_seconds is not None]
    assert busy and all(abs(a - 240) / 240 < 0.2 for a in busy)
    assert result.aht_wape is not None and result.aht_wape < 0.2


def test_history_generator_is_deterministic_and_follows_the_pattern() -> None:
    pattern = SyntheticPattern(calls_per_day=800, abandon_share=0.1)
    first = synthetic_history(pattern, queue="q", start=MONDAY, days=14, seed=3)
    assert first == synthetic_history(pattern, queue="q", start=MONDAY, days=14, seed=3)
    assert first != synthetic_history(pattern, queue="q", start=MONDAY, days=14, seed=4)
    expected = sum(expected_calls(pattern, MONDAY, 60, 14 * 24))
    assert expected == pytest.approx(800 * 2 * sum(pattern.weekday_factors))
    assert abs(len(first) - expected) < 4 * expected**0.5
    abandoned = sum(s.handle_seconds is None for s in first) / len(first)
    assert 0.08 < abandoned < 0.12
    assert all(s.arrived_at.hour >= 6 for s in first)  # the default shape has no calls before 06:00
    with pytest.raises(WfmError):
        SyntheticPattern(weekday_factors=(1.0,) * 6)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=24 * 15, max_size=24 * 15), st.integers(1, 3))
def test_forecasts_are_finite_non_negative_and_the_right_length(calls: list[int], horizon: int) -> None:
    result = forecast_queue(series([float(c) for c in calls]), horizon_days=horizon, holdout_days=1)
    assert len(result.intervals) == horizon * 24
    assert all(i.calls >= 0 and i.calls < float("inf") for i in result.intervals)
    assert [s.wape for s in result.backtest] == sorted(s.wape for s in result.backtest)


# -- intraday -----------------------------------------------------------------------------------------------

def day_forecast(calls: list[float], aht: float | None = 200.0) -> list[IntervalForecast]:
    return [IntervalForecast(MONDAY + timedelta(minutes=30 * i), c, aht) for i, c in enumerate(calls)]


def test_reforecast_scales_the_rest_of_the_day() -> None:
    plan = day_forecast([10, 20, 30, 40])
    revised = reforecast_day(plan, [20, 40], [220.0, None], prior_calls=30)
    assert revised.volume_ratio == (60 + 30) / (30 + 30)
    assert revised.elapsed == 2
    assert [i.calls for i in revised.intervals] == [20.0, 40.0, 45.0, 60.0]
    # AHT: (20 x 220 + 30 x 200) / (20 x 200 + 30 x 200) = 10400 / 10000.
    assert revised.aht_ratio == pytest.approx(1.04)
    assert [i.aht_seconds for i in revised.intervals] == [220.0, 200.0, pytest.approx(208.0), pytest.approx(208.0)]
    assert [i.start for i in revised.intervals] == [f.start for f in plan]


def test_reforecast_before_any_actuals_and_without_prior() -> None:
    plan = day_forecast([10, 20])
    assert reforecast_day(plan, []).intervals == tuple(plan)
    assert reforecast_day(plan, [5], prior_calls=0).volume_ratio == 0.5
    with pytest.raises(WfmError):
        reforecast_day(plan, [1, 2, 3])
    with pytest.raises(WfmError):
        reforecast_day(plan, [1], [100.0, 200.0])
