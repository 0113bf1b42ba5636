"""How many agents an interval needs: the smallest count that meets every target, then shrinkage.

Targets, any combination: a service level (``service_level`` of calls answered within
``answer_within_seconds``), an ASA (``asa_seconds``, mean wait of answered calls), a maximum occupancy and, with
Erlang A (``patience_seconds`` set), a maximum abandonment rate. Erlang C needs more agents than Erlangs;
Erlang A is searched from one agent up, since impatient callers can make fewer than the traffic enough.

Counts are rounded up exactly: the inputs are read as the decimals they were written as (``0.3`` is 3/10,
not the binary float just below it), so 21 agents at 30 % shrinkage is 21 / (7/10) = 30, never 31. Floats
decide whenever they are clearly away from an integer; exact fractions only when a ratio lands on one.

:func:`staff` is the scalar path, some microseconds per Erlang C interval whatever its size: Erlang B's inverse
at the starting count comes from :func:`~cti.wfm._special.erlang_b_inverse_fast` (constant time for many agents,
Temme's uniform expansion) and its recurrence carries it up from there. :func:`staff_batch` and
:func:`staff_intervals` apply it to many intervals; :func:`staff_table` is the vectorised path (numpy columns,
no object per interval, Erlang B by its recurrence), with the same counts.

Every input has a range (``MIN_*``/``MAX_*`` below; the API's bodies use the same), and so has the offered load
they make: beyond :data:`MAX_TRAFFIC` a request is refused, below :data:`MIN_TRAFFIC` it is no work. Within them
the floats never overflow or underflow into a wrong answer, whatever the combination (docs/wfm.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, exp, floor
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from cti.wfm._erlang import QueueMetrics, erlang_a_metrics
from cti.wfm._errors import InfeasibleTarget, WfmError
from cti.wfm._special import TEMME_MIN_AGENTS, erlang_b_inverse_fast, log_erlang_b_inverse_table

__all__ = [
    "MAX_CALLS",
    "MAX_INTERVAL_MINUTES",
    "MAX_SECONDS",
    "MAX_TRAFFIC",
    "MIN_INTERVAL_MINUTES",
    "MIN_OCCUPANCY",
    "MIN_SECONDS",
    "MIN_TRAFFIC",
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

MAX_CALLS: Final = 1_000_000.0
"""Calls offered in one interval, at most."""
MIN_INTERVAL_MINUTES: Final = 1.0
MAX_INTERVAL_MINUTES: Final = 1440.0
MIN_SECONDS: Final = 1.0
"""The shortest AHT, ASA target and mean patience: under a second none of them means anything."""
MAX_SECONDS: Final = 86_400.0
"""The longest AHT, ASA target, mean patience and service-level threshold: a day."""
MIN_OCCUPANCY: Final = 0.01
"""The lowest occupancy cap: at 1 % an agent would wait 99 % of the time."""
MAX_TRAFFIC: Final = 100_000.0
"""The largest offered load, in Erlangs (the largest contact centers staff tens of thousands of agents): it
bounds the agents any target can ask for, and Erlang A's work, which grows with the load."""
MIN_TRAFFIC: Final = 1e-9
"""Less offered load than this (a one-second call every 30 years) is no work: no agents. Below it the floats of
1/traffic and of Erlang A's logarithms would overflow or underflow."""
_TOLERANCE: Final = 1e-12  # a target met to the last bits of a float is met
_NEAR_INTEGER: Final = 1e-9  # closer than this (relative) to an integer, floats cannot decide a rounding
_MAX_EXTRA_AGENTS: Final = 100_000
_INF: Final = math.inf
# limited_by of an Erlang C search: the targets one agent fewer missed, or what set the start.
_SERVICE_LEVEL_ONLY: Final[tuple[str, ...]] = ("service_level",)
_ASA_ONLY: Final[tuple[str, ...]] = ("asa",)
_SERVICE_LEVEL_AND_ASA: Final[tuple[str, ...]] = ("service_level", "asa")
_STABILITY: Final[tuple[str, ...]] = ("stability",)
_OCCUPANCY_ONLY: Final[tuple[str, ...]] = ("max_occupancy",)
_STABILITY_AND_OCCUPANCY: Final[tuple[str, ...]] = ("stability", "max_occupancy")
_NAN: Final = math.nan
# n!/(n-j)! for j = n, ..., 0, per n below TEMME_MIN_AGENTS: 1/B(n) as a polynomial in 1/traffic.
_FALLING_FACTORIALS: Final = tuple(tuple(float(math.perm(n, j)) for j in range(n, -1, -1))
                                   for n in range(TEMME_MIN_AGENTS))
# The tuple constructor itself: a NamedTuple's __new__ is a Python function around it.
_new_tuple: Final = tuple.__new__


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made building the request
# cost as much as staffing it. Nothing keeps requests by identity (the target cache keys on their values).
@dataclass(slots=True, kw_only=True)
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


# A NamedTuple rather than a frozen dataclass, as QueueMetrics: as immutable, and built without a setattr per field.
class StaffingResult(NamedTuple):
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
    kept, kept_of = _kept(shrinkage)
    return -(-agents * kept_of // kept)  # ceil(agents / (kept / kept_of)), in integers


@functools.lru_cache(maxsize=256)
def _kept(shrinkage: float) -> tuple[int, int]:
    """The share left after ``shrinkage``, exactly, as (numerator, denominator): one shrinkage serves many calls."""
    kept = 1 - _exact(shrinkage)
    return kept.numerator, kept.denominator


def staff(request: StaffingRequest) -> StaffingResult:
    """The smallest number of agents meeting every target of ``request``, and what it gives."""
    if request.patience_seconds is not None:
        return _staff_erlang_a_interval(request, request.patience_seconds)
    # Erlang C is the hot path (a plan staffs thousands of intervals): local variables only, the targets checked
    # once per set of targets, and float arithmetic throughout (int-float operations are not specialised).
    calls, minutes, aht = request.calls, request.interval_minutes, request.aht_seconds
    within, occupancy = request.answer_within_seconds, request.max_occupancy
    key = (request.service_level, within, request.asa_seconds, occupancy, request.shrinkage, request.max_abandon)
    targets = _erlang_c_targets.get(key)
    if targets is None:
        targets = _check_erlang_c_targets(request, key)
    level_min, asa_max, kept, kept_of = targets
    # Within their ranges (NaN fails every comparison); the targets were checked above.
    if not (0.0 <= calls <= MAX_CALLS and MIN_INTERVAL_MINUTES <= minutes <= MAX_INTERVAL_MINUTES
            and MIN_SECONDS <= aht <= MAX_SECONDS):
        _validate(request)
    traffic = calls * aht / (minutes * 60.0)
    if not traffic >= MIN_TRAFFIC:
        return _idle(request)
    if traffic > MAX_TRAFFIC:
        raise _too_much_traffic(traffic)
    # floor(traffic) and ceil(traffic / max_occupancy) in floats, unless within rounding of an integer:
    # then exactly, from the decimals (42 Erlangs at 70 % is 60 agents, where 42 / 0.7 = 60.00000000000001).
    whole = floor(traffic)
    fraction = traffic - whole
    if occupancy is None:
        cap = 0
        near = fraction * (1.0 - fraction) < _NEAR_INTEGER * (traffic + 1.0)  # fraction near 0 or 1
    else:
        load = traffic / occupancy
        cap = ceil(load)
        above = cap - load
        # Either near an integer makes the product small (rarely both being merely close does: then exactly too).
        near = fraction * (1.0 - fraction) * above * (1.0 - above) < _NEAR_INTEGER * (load + 1.0)
    if near:
        exact_whole, cap = _exact_bounds(calls, aht, minutes, occupancy)
        # max(): the formulas need more agents than the float traffic too, should it round up onto an integer.
        whole = max(whole, exact_whole)
    stable = whole + 1
    start = stable if stable >= cap else cap
    # The search carries x = 1/B, Erlang B's inverse: its recurrence x(n) = 1 + x(n-1)·n/A and the wait
    # probability n / ((n - A)·x + A) take fewer operations than B's own.
    if start < TEMME_MIN_AGENTS:  # the recurrence unrolled: x(n) = Σ_j n!/(n-j)! A^-j, by Horner's rule
        r = 1.0 / traffic
        x = 0.0
        for falling in _FALLING_FACTORIALS[start]:
            x = x * r + falling
    else:
        x = erlang_b_inverse_fast(start, traffic)
    # Up from the start, with the comparisons of _missed. The occupancy cap holds from the start on (start >=
    # ceil(traffic / max_occupancy)): only the service level and the ASA can send the search up.
    decay = -within / aht
    agents, n = start, start + 0.0
    last = n + _MAX_EXTRA_AGENTS
    if asa_max == _INF:  # no ASA target, the usual case: the service level alone, in the fewest steps
        while True:
            spare = n - traffic
            c = n / (spare * x + traffic)
            service = 1.0 - c * exp(spare * decay)
            if service >= level_min:
                break
            if n > last:
                raise InfeasibleTarget("no number of agents meets the targets")
            agents += 1
            n += 1.0
            x = x * n / traffic + 1.0
        speed = c * aht / spare
        missed = _SERVICE_LEVEL_ONLY
    else:
        below_service = below_speed = _NAN  # what one agent fewer gave
        while True:
            spare = n - traffic
            c = n / (spare * x + traffic)
            service = 1.0 - c * exp(spare * decay)
            speed = c * aht / spare
            if service >= level_min and speed <= asa_max:
                break
            if n > last:
                raise InfeasibleTarget("no number of agents meets the targets")
            below_service, below_speed = service, speed
            agents += 1
            n += 1.0
            x = x * n / traffic + 1.0
        missed = _ASA_ONLY if below_service >= level_min else \
            _SERVICE_LEVEL_ONLY if below_speed <= asa_max else _SERVICE_LEVEL_AND_ASA
    if agents > start:
        limits = missed
    elif start == stable:
        limits = _STABILITY_AND_OCCUPANCY if start == cap else _STABILITY
    else:
        limits = _OCCUPANCY_ONLY
    return _new_tuple(StaffingResult, (
        "erlang_c", traffic, agents, -(-agents * kept_of // kept),
        _new_tuple(QueueMetrics, (agents, traffic, service, c, speed, traffic / n, None)), limits))


def staff_intervals(requests: Iterable[StaffingRequest]) -> list[StaffingResult]:
    """:func:`staff` for each interval, in order."""
    return [staff(request) for request in requests]


def staff_batch(requests: Sequence[StaffingRequest]) -> list[StaffingResult]:
    """:func:`staff` for many intervals, Erlang C and Erlang A mixed, in order.

    With Erlang B in constant time the scalar path is cheaper per interval than assembling numpy columns and
    result objects around them; :func:`staff_table` is the vectorised path when columns are what is wanted.
    """
    return [staff(request) for request in requests]


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
    calls_ok = ((volume >= 0) & (volume <= MAX_CALLS)).all()
    if not (calls_ok and ((handle >= MIN_SECONDS) & (handle <= MAX_SECONDS)).all()):
        raise WfmError(f"calls must be from 0 to {MAX_CALLS:,.0f}, and AHTs from {MIN_SECONDS:g} to {MAX_SECONDS:g} s")
    traffic = volume * handle / (interval_minutes * 60.0)
    if len(traffic) and traffic.max() > MAX_TRAFFIC:
        raise _too_much_traffic(float(traffic.max()))
    traffic[traffic < MIN_TRAFFIC] = 0.0
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


def _too_much_traffic(traffic: float) -> WfmError:
    return WfmError(f"calls x aht_seconds / interval is {traffic:.6g} Erlangs, more than the {MAX_TRAFFIC:,.0f} "
                    "cti staffs; split the queue or check the units")


def _near_integers(x: Floats) -> npt.NDArray[np.bool_]:
    return np.abs(x - np.round(x)) <= _NEAR_INTEGER * np.maximum(1.0, np.abs(x))


def _idle(request: StaffingRequest) -> StaffingResult:
    metrics = QueueMetrics(0, 0.0, 1.0, 0.0, 0.0, 0.0, None if request.patience_seconds is None else 0.0)
    return StaffingResult(request.model, 0.0, 0, 0, metrics, ())


# Erlang C targets already checked, by (service level, answer within, ASA, max occupancy, shrinkage,
# max abandon): the service level and ASA as the search compares them, and the share kept after shrinkage
# (numerator, denominator). The occupancy cap needs no comparison: it sets the start. A bounded memo, as the
# lru_caches of the decimals: a plan staffs its intervals under one set of targets.
_erlang_c_targets: Final[dict[tuple[float | None, ...], tuple[float, float, int, int]]] = {}
_TARGET_SETS: Final = 256


def _check_erlang_c_targets(request: StaffingRequest, key: tuple[float | None, ...]) -> tuple[float, float, int, int]:
    _validate(request)
    level, asa = request.service_level, request.asa_seconds
    kept, kept_of = _kept(request.shrinkage)
    targets = (-_INF if level is None else level - _TOLERANCE, _INF if asa is None else asa * (1 + _TOLERANCE),
               kept, kept_of)
    if len(_erlang_c_targets) >= _TARGET_SETS:  # plans reuse a handful of target sets; never grow without bound
        _erlang_c_targets.clear()
    _erlang_c_targets[key] = targets
    return targets


def _staff_erlang_a_interval(request: StaffingRequest, patience: float) -> StaffingResult:
    _validate(request)
    traffic = request.calls * request.aht_seconds / (request.interval_minutes * 60.0)
    if not traffic >= MIN_TRAFFIC:
        return _idle(request)
    if traffic > MAX_TRAFFIC:
        raise _too_much_traffic(traffic)
    agents, metrics, limits = _staff_erlang_a(request, traffic, patience)
    return StaffingResult("erlang_a", traffic, agents, apply_shrinkage(agents, request.shrinkage), metrics, limits)


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
    limit = high + _MAX_EXTRA_AGENTS  # the last doubling stops here rather than giving up past it
    best = evaluate(high)
    while _missed(request, best):
        if high >= limit:
            raise InfeasibleTarget("no number of agents meets the targets")
        low, high = high, min(high * 2, limit)
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
    def within(name: str, value: float | None, low: float, high: float) -> None:
        if value is not None and not low <= value <= high:  # NaN is in no range
            raise WfmError(f"{name} must be from {low:g} to {high:g}, not {value}")

    def fraction(name: str, value: float | None, *, closed: bool = False) -> None:
        if value is not None and not (0.0 < value < 1.0 or (closed and value == 1.0)):
            raise WfmError(f"{name} must be between 0 and 1{' (1 allowed)' if closed else ''}, not {value}")

    within("calls", request.calls, 0.0, MAX_CALLS)
    within("interval_minutes", request.interval_minutes, MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES)
    within("aht_seconds", request.aht_seconds, MIN_SECONDS, MAX_SECONDS)
    within("answer_within_seconds", request.answer_within_seconds, 0.0, MAX_SECONDS)
    fraction("service_level", request.service_level)
    fraction("max_occupancy", request.max_occupancy, closed=True)
    within("max_occupancy", request.max_occupancy, MIN_OCCUPANCY, 1.0)
    fraction("max_abandon", request.max_abandon)
    within("asa_seconds", request.asa_seconds, MIN_SECONDS, MAX_SECONDS)
    if not 0.0 <= request.shrinkage < 1.0:
        raise WfmError(f"shrinkage must be in [0, 1), not {request.shrinkage}")
    if request.patience_seconds is None:
        if request.max_abandon is not None:
            raise WfmError("max_abandon needs patience_seconds (Erlang A): Erlang C callers never abandon")
    else:
        within("patience_seconds", request.patience_seconds, MIN_SECONDS, MAX_SECONDS)
        if all(t is None for t in (request.service_level, request.asa_seconds, request.max_occupancy,
                                   request.max_abandon)):
            raise WfmError("Erlang A needs at least one target (service level, ASA, occupancy or abandonment)")
