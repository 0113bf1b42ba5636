"""How many agents an interval needs: the smallest count that meets every target, then shrinkage.

Targets, any combination: a service level (``service_level`` of calls answered within
``answer_within_seconds``), an ASA (``asa_seconds``, mean wait of answered calls), a maximum occupancy and, with
Erlang A (``patience_seconds`` set), a maximum abandonment rate. Erlang C needs more agents than Erlangs;
Erlang A is searched from one agent up, since impatient callers can make fewer than the traffic enough.

Counts are rounded up exactly: the inputs are read as the decimals they were written as (``0.3`` is 3/10,
not the binary float just below it), so 21 agents at 30 % shrinkage is 21 / (7/10) = 30, never 31. Floats
decide whenever they are clearly away from an integer; exact fractions only when a ratio lands on one.

:func:`staff` is the scalar path; :func:`staff_batch` staffs many intervals at once with numpy (Erlang C
vectorised across intervals; Erlang A intervals go through :func:`staff`) and gives the same counts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from cti.wfm._special import log_erlang_b_inverse_table
from cti.wfm.erlang import QueueMetrics, c_metrics_from_b, erlang_a_metrics, erlang_b
from cti.wfm.errors import InfeasibleTarget, WfmError

__all__ = [
    "StaffingRequest",
    "StaffingResult",
    "StaffingTable",
    "apply_shrinkage",
    "offered_traffic",
    "staff",
    "staff_batch",
    "staff_intervals",
    "staff_table",
]

Model = Literal["erlang_c", "erlang_a"]
_TOLERANCE: Final = 1e-12  # a target met to the last bits of a float is met
_NEAR_INTEGER: Final = 1e-9  # closer than this (relative) to an integer, floats cannot decide a rounding
_MAX_EXTRA_AGENTS: Final = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffingRequest:
    """One interval's workload and targets. Omitted targets are not checked."""

    calls: float
    interval_minutes: float
    aht_seconds: float
    service_level: float | None = None
    answer_within_seconds: float = 20.0
    asa_seconds: float | None = None
    max_occupancy: float | None = None
    shrinkage: float = 0.0
    patience_seconds: float | None = None
    """Mean caller patience: set, the queue is Erlang A (M/M/n+M); unset, Erlang C."""
    max_abandon: float | None = None

    @property
    def model(self) -> Model:
        return "erlang_c" if self.patience_seconds is None else "erlang_a"


@dataclass(frozen=True, slots=True)
class StaffingResult:
    model: Model
    traffic: float
    """Offered load in Erlangs."""
    agents: int
    """Agents needed on the phones."""
    scheduled_agents: int
    """Agents to schedule so that ``agents`` remain after shrinkage."""
    metrics: QueueMetrics
    """What ``agents`` agents give."""
    limited_by: tuple[str, ...]
    """The targets one agent fewer would miss (``stability`` for Erlang C's n > traffic)."""


Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class StaffingTable:
    """Erlang C staffing of many intervals under the same targets, as columns: one entry per interval."""

    traffic: Floats
    agents: Ints
    scheduled_agents: Ints
    service_level: Floats
    wait_probability: Floats
    asa_seconds: Floats
    occupancy: Floats


def _exact(value: float) -> Fraction:
    """The decimal a number was written as (a float's shortest repr), as an exact fraction."""
    return _decimal(float(value))


@functools.lru_cache(maxsize=4096)
def _decimal(value: float) -> Fraction:
    return Fraction(repr(value))


def _exact_bounds(calls: float, aht_seconds: float, interval_minutes: float,
                  max_occupancy: float | None) -> tuple[int, int]:
    """floor(traffic) and ceil(traffic / max_occupancy) (0 without a cap), in exact integer arithmetic."""
    c, a, i = _exact(calls), _exact(aht_seconds), _exact(interval_minutes)
    num = c.numerator * a.numerator * i.denominator
    den = c.denominator * a.denominator * i.numerator * 60
    if max_occupancy is None:
        return num // den, 0
    o = _exact(max_occupancy)
    return num // den, -(-num * o.denominator // (den * o.numerator))


def offered_traffic(calls: float, interval_minutes: float, aht_seconds: float) -> Fraction:
    """Offered load in Erlangs, exactly: calls x AHT / interval."""
    return _exact(calls) * _exact(aht_seconds) / (_exact(interval_minutes) * 60)


def apply_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that ``agents`` are left after ``shrinkage`` (a fraction in [0, 1))."""
    if not 0.0 <= shrinkage < 1.0:
        raise WfmError(f"shrinkage must be in [0, 1), not {shrinkage}")
    if shrinkage == 0.0:
        return agents
    kept = 1 - _exact(shrinkage)
    return -(-agents * kept.denominator // kept.numerator)  # ceil(agents / kept), in integers


def _bounds(request: StaffingRequest) -> tuple[float, int, int]:
    """The traffic in Erlangs, the smallest stable count and the occupancy cap's floor (0 without one)."""
    traffic = request.calls * request.aht_seconds / (request.interval_minutes * 60.0)
    whole, floor = _exact_bounds(request.calls, request.aht_seconds, request.interval_minutes, request.max_occupancy)
    # max(): the formulas need more agents than the float traffic too, should it round up onto an integer.
    return traffic, max(whole, math.floor(traffic)) + 1, floor


def staff(request: StaffingRequest) -> StaffingResult:
    """The smallest number of agents meeting every target of ``request``, and what it gives."""
    _validate(request)
    traffic, stable, occupancy_floor = _bounds(request)
    if traffic == 0.0:
        return _idle(request)
    if request.patience_seconds is None:
        agents, metrics, limits = _staff_erlang_c(request, traffic, stable, occupancy_floor)
    else:
        agents, metrics, limits = _staff_erlang_a(request, traffic, request.patience_seconds)
    return StaffingResult(request.model, traffic, agents, apply_shrinkage(agents, request.shrinkage), metrics,
                          limits)


def staff_intervals(requests: Iterable[StaffingRequest]) -> list[StaffingResult]:
    """:func:`staff` for each interval, in order."""
    return [staff(request) for request in requests]


def staff_batch(requests: Sequence[StaffingRequest]) -> list[StaffingResult]:
    """:func:`staff` for many intervals at once: the Erlang C ones vectorised with numpy, same counts."""
    results: list[StaffingResult | None] = [None] * len(requests)
    batch: list[int] = []
    loads: list[float] = []
    starts: list[int] = []
    stables: list[int] = []
    floors: list[int] = []
    for i, request in enumerate(requests):
        _validate(request)
        traffic, stable, occupancy_floor = _bounds(request)
        if request.patience_seconds is not None or traffic == 0.0:
            results[i] = staff(request)
            continue
        batch.append(i)
        loads.append(traffic)
        stables.append(stable)
        floors.append(occupancy_floor)
        starts.append(max(stable, occupancy_floor))
    if batch:
        chosen = _erlang_c_batch([requests[i] for i in batch], loads, starts, stables, floors)
        for i, result in zip(batch, chosen, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def staff_table(calls: Sequence[float] | Floats, aht_seconds: Sequence[float] | Floats, *, interval_minutes: float,
                service_level: float | None = None, answer_within_seconds: float = 20.0,
                asa_seconds: float | None = None, max_occupancy: float | None = None,
                shrinkage: float = 0.0) -> StaffingTable:
    """Erlang C staffing of a whole day (or several queues' days) at once, without an object per interval.

    The fastest path: everything is numpy arrays, and the counts are those :func:`staff` gives.
    """
    template = StaffingRequest(calls=1.0, interval_minutes=interval_minutes, aht_seconds=1.0,
                               service_level=service_level, answer_within_seconds=answer_within_seconds,
                               asa_seconds=asa_seconds, max_occupancy=max_occupancy, shrinkage=shrinkage)
    _validate(template)
    volume = np.asarray(calls, dtype=np.float64)
    handle = np.asarray(aht_seconds, dtype=np.float64)
    if volume.shape != handle.shape or volume.ndim != 1:
        raise WfmError("calls and aht_seconds must be equally long lists")
    if not (np.isfinite(volume).all() and (volume >= 0).all() and np.isfinite(handle).all() and (handle > 0).all()):
        raise WfmError("calls must be finite and >= 0, and AHTs finite and > 0")
    traffic = volume * handle / (interval_minutes * 60.0)
    stable = np.floor(traffic).astype(np.int64) + 1
    floor = np.zeros(len(traffic), dtype=np.int64)
    if max_occupancy is not None:
        floor = np.ceil(traffic / max_occupancy).astype(np.int64)
    near = _near_integers(traffic)
    if max_occupancy is not None:
        near |= _near_integers(traffic / max_occupancy)
    for i in np.flatnonzero(near):  # floats cannot round these: decide them exactly, as the scalar path does
        whole, at_cap = _exact_bounds(float(volume[i]), float(handle[i]), interval_minutes, max_occupancy)
        stable[i] = max(whole, math.floor(traffic[i])) + 1
        floor[i] = at_cap
    busy = np.flatnonzero(traffic > 0)
    size = len(traffic)
    agents = np.zeros(size, dtype=np.int64)
    b = np.zeros(size)
    t = traffic[busy]
    found, found_b, _ = _erlang_c_search(
        t, np.maximum(stable, floor)[busy], handle[busy], np.full(len(busy), answer_within_seconds),
        np.full(len(busy), -math.inf if service_level is None else service_level),
        np.full(len(busy), math.inf if asa_seconds is None else asa_seconds),
        np.full(len(busy), math.inf if max_occupancy is None else max_occupancy))
    agents[busy], b[busy] = found, found_b
    c = np.zeros(size)
    service = np.ones(size)
    asa = np.zeros(size)
    occupancy = np.zeros(size)
    n = found.astype(np.float64)
    c_busy = n * found_b / (n - t * (1.0 - found_b))
    c[busy] = c_busy
    service[busy] = 1.0 - c_busy * np.exp(-(n - t) * answer_within_seconds / handle[busy])
    asa[busy] = c_busy * handle[busy] / (n - t)
    occupancy[busy] = t / n
    scheduled = agents.copy()
    if shrinkage:
        kept = 1 - _exact(shrinkage)
        if kept.denominator < 2**31 and int(agents.max(initial=0)) < 2**31:
            scheduled = -(-agents * kept.denominator // kept.numerator)
        else:
            scheduled = np.array([apply_shrinkage(int(a), shrinkage) for a in agents], dtype=np.int64)
    return StaffingTable(traffic, agents, scheduled, service, c, asa, occupancy)


def _near_integers(x: Floats) -> npt.NDArray[np.bool_]:
    return np.abs(x - np.round(x)) <= _NEAR_INTEGER * np.maximum(1.0, np.abs(x))


def _idle(request: StaffingRequest) -> StaffingResult:
    metrics = QueueMetrics(0, 0.0, 1.0, 0.0, 0.0, 0.0, None if request.patience_seconds is None else 0.0)
    return StaffingResult(request.model, 0.0, 0, 0, metrics, ())


def _staff_erlang_c(request: StaffingRequest, traffic: float, stable: int,
                    occupancy_floor: int) -> tuple[int, QueueMetrics, tuple[str, ...]]:
    start = max(stable, occupancy_floor)
    aht, within = request.aht_seconds, request.answer_within_seconds
    # The same expressions and comparisons as c_metrics_from_b and _missed, without an object per step.
    level = -math.inf if request.service_level is None else request.service_level - _TOLERANCE
    asa = math.inf if request.asa_seconds is None else request.asa_seconds * (1 + _TOLERANCE)
    occupancy = math.inf if request.max_occupancy is None else request.max_occupancy * (1 + _TOLERANCE)
    agents = start
    b = erlang_b(agents, traffic)
    previous: float | None = None
    while True:
        spare = agents - traffic
        c = agents * b / (agents - traffic * (1.0 - b))
        if 1.0 - c * math.exp(-spare * within / aht) >= level and c * aht / spare <= asa \
                and traffic / agents <= occupancy:
            break
        if agents > stable + _MAX_EXTRA_AGENTS:
            raise InfeasibleTarget("no number of agents meets the targets")
        previous = b
        agents += 1
        tb = traffic * b
        b = tb / (agents + tb)
    metrics = c_metrics_from_b(agents, traffic, b, aht, within)
    if previous is not None:
        return agents, metrics, tuple(_missed(request, c_metrics_from_b(agents - 1, traffic, previous, aht, within)))
    limits: list[str] = []
    if start == stable:
        limits.append("stability")
    if start == occupancy_floor:
        limits.append("max_occupancy")
    return agents, metrics, tuple(limits)


def _erlang_c_batch(requests: Sequence[StaffingRequest], loads: list[float], starts: list[int], stables: list[int],
                    floors: list[int]) -> list[StaffingResult]:
    """Erlang C staffing of many intervals as numpy arrays: the same recurrences and checks as the scalar path."""
    agents, b, previous = _erlang_c_search(
        np.array(loads), np.array(starts, dtype=np.int64), np.array([r.aht_seconds for r in requests]),
        np.array([r.answer_within_seconds for r in requests]),
        np.array([-math.inf if r.service_level is None else r.service_level for r in requests]),
        np.array([math.inf if r.asa_seconds is None else r.asa_seconds for r in requests]),
        np.array([math.inf if r.max_occupancy is None else r.max_occupancy for r in requests]))
    results = []
    for i, request in enumerate(requests):
        n = int(agents[i])
        # The reported metrics come from the scalar formulas (math.exp, not numpy's): identical to staff().
        metrics = c_metrics_from_b(n, loads[i], float(b[i]), request.aht_seconds, request.answer_within_seconds)
        if n > starts[i]:
            limits = tuple(_missed(request, c_metrics_from_b(n - 1, loads[i], float(previous[i]),
                                                             request.aht_seconds, request.answer_within_seconds)))
        else:
            limits = tuple(name for name, hit in (("stability", starts[i] == stables[i]),
                                                  ("max_occupancy", starts[i] == floors[i])) if hit)
        results.append(StaffingResult("erlang_c", loads[i], n, apply_shrinkage(n, request.shrinkage), metrics,
                                      limits))
    return results


def _erlang_c_search(traffic: Floats, start: Ints, aht: Floats, within: Floats, level: Floats, asa: Floats,
                     occupancy: Floats) -> tuple[Ints, Floats, Floats]:
    """The smallest counts from ``start`` up meeting every target, their Erlang B and the one below's.

    The Erlang B recurrence runs once over n for all intervals, each dropping out at its own start (sorted, so
    the still-running ones are a suffix); then all intervals step up together until each meets its targets.
    """
    size = len(traffic)
    order = np.argsort(start, kind="stable")
    sorted_start = start[order]
    sorted_traffic = traffic[order]
    b = np.ones(size)
    first = 0
    for count in range(1, int(sorted_start[-1]) + 1 if size else 0):
        first = int(np.searchsorted(sorted_start, count, side="left"))
        tb = sorted_traffic[first:] * b[first:]
        b[first:] = tb / (count + tb)
    b_start = np.empty(size)
    b_start[order] = b
    agents = start.copy()
    b = b_start
    previous = b_start.copy()
    level = level - _TOLERANCE
    asa = asa * (1 + _TOLERANCE)
    occupancy = occupancy * (1 + _TOLERANCE)
    pending = np.arange(size)
    for _ in range(_MAX_EXTRA_AGENTS):
        n = agents[pending]
        t = traffic[pending]
        bp = b[pending]
        spare = n - t
        c = n * bp / (n - t * (1.0 - bp))
        service = 1.0 - c * np.exp(-spare * within[pending] / aht[pending])
        meets = (service >= level[pending]) & (c * aht[pending] / spare <= asa[pending])
        meets &= t / n <= occupancy[pending]
        pending = pending[~meets]
        if not len(pending):
            return agents, b, previous
        previous[pending] = b[pending]
        agents[pending] += 1
        tb = traffic[pending] * b[pending]
        b[pending] = tb / (agents[pending] + tb)
    raise InfeasibleTarget("no number of agents meets the targets")


def _staff_erlang_a(request: StaffingRequest, traffic: float,
                    patience: float) -> tuple[int, QueueMetrics, tuple[str, ...]]:
    table: list[float] = []

    def evaluate(agents: int, *, with_asa: bool = request.asa_seconds is not None) -> QueueMetrics:
        if agents >= len(table):
            table[:] = log_erlang_b_inverse_table(agents, traffic)
        return erlang_a_metrics(agents, traffic, request.aht_seconds, request.answer_within_seconds, patience,
                                log_b_inverse=table[agents], with_asa=with_asa)

    # Every target improves with more agents, so the smallest count is found by doubling then bisecting.
    low, high = 0, max(1, math.ceil(traffic))
    best = evaluate(high)
    while _missed(request, best):
        low, high = high, high * 2
        if high > traffic + _MAX_EXTRA_AGENTS:
            raise InfeasibleTarget("no number of agents meets the targets")
        best = evaluate(high)
    while high - low > 1:
        middle = (low + high) // 2
        metrics = evaluate(middle)
        if _missed(request, metrics):
            low = middle
        else:
            high, best = middle, metrics
    # The ASA needs a sum over queue lengths: during the search only when it is a target.
    final = best if request.asa_seconds is not None else evaluate(high, with_asa=True)
    return high, final, tuple(_missed(request, evaluate(high - 1)))


def _missed(request: StaffingRequest, m: QueueMetrics) -> list[str]:
    """The targets of ``request`` that ``m`` misses (empty: all met); Erlang C below the traffic misses all."""
    missed = []
    if request.service_level is not None and not m.service_level >= request.service_level - _TOLERANCE:
        missed.append("service_level")
    if request.asa_seconds is not None and not m.asa_seconds <= request.asa_seconds * (1 + _TOLERANCE):
        missed.append("asa")
    if request.max_occupancy is not None and not m.occupancy <= request.max_occupancy * (1 + _TOLERANCE):
        missed.append("max_occupancy")
    if request.max_abandon is not None and not (m.abandon_rate is not None
                                                and m.abandon_rate <= request.max_abandon + _TOLERANCE):
        missed.append("max_abandon")
    return missed


def _validate(request: StaffingRequest) -> None:
    def positive(name: str, value: float) -> None:
        if not (value > 0 and math.isfinite(value)):
            raise WfmError(f"{name} must be a positive number, not {value}")

    def fraction(name: str, value: float | None, *, closed: bool = False) -> None:
        if value is not None and not (0.0 < value < 1.0 or (closed and value == 1.0)):
            raise WfmError(f"{name} must be between 0 and 1{' (1 allowed)' if closed else ''}, not {value}")

    if not (request.calls >= 0 and math.isfinite(request.calls)):
        raise WfmError(f"calls must be a number >= 0, not {request.calls}")
    positive("interval_minutes", request.interval_minutes)
    positive("aht_seconds", request.aht_seconds)
    if not (request.answer_within_seconds >= 0 and math.isfinite(request.answer_within_seconds)):
        raise WfmError(f"answer_within_seconds must be >= 0, not {request.answer_within_seconds}")
    fraction("service_level", request.service_level)
    fraction("max_occupancy", request.max_occupancy, closed=True)
    fraction("max_abandon", request.max_abandon)
    if request.asa_seconds is not None:
        positive("asa_seconds", request.asa_seconds)
    if not 0.0 <= request.shrinkage < 1.0:
        raise WfmError(f"shrinkage must be in [0, 1), not {request.shrinkage}")
    if request.patience_seconds is None:
        if request.max_abandon is not None:
            raise WfmError("max_abandon needs patience_seconds (Erlang A): Erlang C callers never abandon")
    else:
        positive("patience_seconds", request.patience_seconds)
        if all(t is None for t in (request.service_level, request.asa_seconds, request.max_occupancy,
                                   request.max_abandon)):
            raise WfmError("Erlang A needs at least one target (service level, ASA, occupancy or abandonment)")
