"""Queue performance for a given number of agents: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M).

Erlang C assumes callers wait forever; Erlang A gives each caller an exponential patience with mean
``patience_seconds`` and so also yields the abandonment rate. Both take the offered load in Erlangs
(``calls x AHT / interval``) and report, for the offered calls:

* ``wait_probability``: P(all agents busy on arrival);
* ``service_level``: the fraction of offered calls answered within ``answer_within_seconds`` (the service
  level's *T*: a threshold, not the ASA). In Erlang A a caller who abandons counts as not answered in time;
* ``asa_seconds``: the mean wait of the calls that are answered (the ASA);
* ``occupancy``: the share of agent time spent on calls (carried load / agents);
* ``abandon_rate`` (Erlang A only): the fraction of offered calls that abandon.

Derivations and sources: docs/wfm.md. Everything is in floats with log-space where values explode.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np

from cti.wfm._errors import WfmError
from cti.wfm._special import log_erlang_b_inverse, log_lower_gamma

__all__ = ["QueueMetrics", "erlang_a_metrics", "erlang_b", "erlang_c", "erlang_c_metrics"]

_MAX_QUEUE_TERMS: Final = 4_000_000  # terms of the ASA sum: tens of milliseconds, 32 MB


class QueueMetrics(NamedTuple):
    """How a queue performs with ``agents`` agents. ``asa_seconds`` is ``inf`` when no call is ever answered
    in finite time (Erlang C with no more agents than Erlangs).

    A NamedTuple, not a frozen dataclass: as immutable, and the staffing search builds one per interval without
    a setattr per field.
    """

    agents: int
    traffic: float
    service_level: float
    wait_probability: float
    asa_seconds: float
    occupancy: float
    abandon_rate: float | None = None


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of ``agents`` servers offered ``traffic`` Erlangs (M/M/n/n), by the stable recurrence."""
    _check(agents, traffic)
    b = 1.0
    for n in range(1, agents + 1):
        tb = traffic * b
        b = tb / (n + tb)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call waits (M/M/n); 1.0 when the queue is unstable (``agents <= traffic``)."""
    _check(agents, traffic)
    if traffic == 0.0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return _c_from_b(agents, traffic, b)


def erlang_c_metrics(agents: int, traffic: float, aht_seconds: float, answer_within_seconds: float) -> QueueMetrics:
    """Erlang C service level, P(wait), ASA and occupancy of ``agents`` agents."""
    _check(agents, traffic)
    _check_times(aht_seconds, answer_within_seconds)
    if traffic == 0.0:
        return QueueMetrics(agents, 0.0, 1.0, 0.0, 0.0, 0.0)
    if agents <= traffic:
        return QueueMetrics(agents, traffic, 0.0, 1.0, math.inf, 1.0 if agents else 0.0)
    return c_metrics_from_b(agents, traffic, erlang_b(agents, traffic), aht_seconds, answer_within_seconds)


def c_metrics_from_b(agents: int, traffic: float, b: float, aht_seconds: float,
                     answer_within_seconds: float) -> QueueMetrics:
    """Erlang C metrics from an Erlang B value the caller already has (the staffing search keeps a running B)."""
    c = _c_from_b(agents, traffic, b)
    spare = agents - traffic
    return QueueMetrics(
        agents=agents,
        traffic=traffic,
        service_level=1.0 - c * math.exp(-spare * answer_within_seconds / aht_seconds),
        wait_probability=c,
        asa_seconds=c * aht_seconds / spare,
        occupancy=traffic / agents,
    )


def erlang_a_metrics(agents: int, traffic: float, aht_seconds: float, answer_within_seconds: float,
                     patience_seconds: float, *, log_b_inverse: float | None = None,
                     with_asa: bool = True) -> QueueMetrics:
    """Erlang A (Palm's M/M/n+M) metrics of ``agents`` agents when callers' mean patience is ``patience_seconds``.

    Stable for any number of agents (impatient callers leave), so it is defined below the traffic too.
    ``log_b_inverse`` is ``log(1/B(agents, traffic))`` when the caller has it (a search keeps a table);
    ``with_asa=False`` skips the ASA (NaN then), the one metric that needs a sum over queue lengths.
    """
    _check(agents, traffic)
    _check_times(aht_seconds, answer_within_seconds)
    if not patience_seconds > 0.0 or math.isinf(patience_seconds):
        raise WfmError(f"patience must be a positive number of seconds, not {patience_seconds}")
    if traffic == 0.0:
        return QueueMetrics(agents, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if agents == 0:
        return QueueMetrics(0, traffic, 0.0, 1.0, math.inf, 0.0, 1.0)
    # With the waiting states' weights relative to "all agents busy, nobody waiting" (π_n = 1):
    # w_k = Π_{i=1..k} y / (s + i), s = n·μ/θ, y = λ/θ. Their sums are incomplete gamma functions.
    s = agents * patience_seconds / aht_seconds
    y = traffic * patience_seconds / aht_seconds
    log_y = math.log(y)
    if log_b_inverse is None:
        log_b_inverse = log_erlang_b_inverse(agents, traffic)
    log_below = log_b_inverse + math.log1p(-math.exp(-log_b_inverse))  # Σ_{j<n} π_j = 1/B - 1
    log_gamma_1 = log_lower_gamma(s + 1.0, y)
    log_waiting = math.log(s) + y - s * log_y + log_lower_gamma(s, y)  # Σ_k w_k
    log_served = math.log(s) + y - (s + 1.0) * log_y + log_gamma_1  # Σ_k w_k · P(served | k ahead)
    wait_probability = _logistic(log_waiting - log_below)
    served_share = math.exp(log_served - log_waiting)  # P(served | wait)
    abandon_rate = wait_probability * (1.0 - served_share)
    # Answered within T: the virtual wait given k ahead is -log(Beta(s, k+1))/θ; weighted by w_k these sum to
    # the lower incomplete gamma function at y·e^{-θT} (docs/wfm.md).
    log_gamma_t = log_lower_gamma(s + 1.0, y * math.exp(-answer_within_seconds / patience_seconds))
    in_time_share = served_share * -math.expm1(log_gamma_t - log_gamma_1) if log_gamma_t > -math.inf \
        else served_share
    service_level = (1.0 - wait_probability) + wait_probability * in_time_share
    answered = 1.0 - abandon_rate
    share = _served_wait_share(s, y, log_waiting) if with_asa else math.nan
    wait_of_answered = wait_probability * share * patience_seconds
    return QueueMetrics(
        agents=agents,
        traffic=traffic,
        service_level=min(1.0, max(0.0, service_level)),
        wait_probability=wait_probability,
        asa_seconds=wait_of_answered / answered if answered > 0.0 else math.inf,
        occupancy=min(1.0, traffic * answered / agents),
        abandon_rate=min(1.0, max(0.0, abandon_rate)),
    )


def _served_wait_share(s: float, y: float, log_waiting: float) -> float:
    """``Σ_k w_k · P(served | k) · E[θ·wait | served, k] / Σ_k w_k``: no closed form, so summed directly.

    A caller with k callers ahead is served with probability s/(s+k+1) after stages of rate θ(s+m+1),
    m = 0..k. The weights peak near k = y - s and fall off like a Gaussian of width √y.
    """
    peak = max(0.0, y - s)
    count = int(peak + 10.0 * math.sqrt(y) + 64.0)
    if count > _MAX_QUEUE_TERMS:
        raise WfmError(f"Erlang A with about {y - s:.0f} callers waiting is beyond what cti computes "
                       "(add agents or check the patience)")
    while True:
        k = np.arange(count, dtype=np.float64)
        log_w = np.empty(count)
        log_w[0] = 0.0
        np.cumsum(math.log(y) - np.log(s + k[1:]), out=log_w[1:])
        if log_w[-1] < log_w.max() - 40.0:
            break
        count *= 2
        if count > _MAX_QUEUE_TERMS:
            raise WfmError("Erlang A queue too long to sum")
    weights = np.exp(log_w - log_waiting)
    stage_sum = np.cumsum(1.0 / (s + k + 1.0))
    return float(np.dot(weights, (s / (s + k + 1.0)) * stage_sum))


def _logistic(x: float) -> float:
    """1 / (1 + e^-x) without overflowing for any x (far below the traffic, nobody waits: x < -709)."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _c_from_b(agents: int, traffic: float, b: float) -> float:
    return agents * b / (agents - traffic * (1.0 - b))


def _check(agents: int, traffic: float) -> None:
    if agents < 0:
        raise WfmError(f"the number of agents cannot be negative: {agents}")
    if not (traffic >= 0.0 and math.isfinite(traffic)):
        raise WfmError(f"traffic must be a finite number of Erlangs >= 0, not {traffic}")


def _check_times(aht_seconds: float, answer_within_seconds: float) -> None:
    if not (aht_seconds > 0.0 and math.isfinite(aht_seconds)):
        raise WfmError(f"the average handle time must be positive, not {aht_seconds}")
    if not (answer_within_seconds >= 0.0 and math.isfinite(answer_within_seconds)):
        raise WfmError(f"the service level threshold must be >= 0 seconds, not {answer_within_seconds}")
