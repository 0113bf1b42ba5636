"""Where bench/routing.py's tick p99 comes from: each tick of the main scenarios timed with the garbage
collections that ran inside it (an investigation of the redesign's before/after runs, not a benchmark).

Run from the root of the tree to measure, with that tree on ``PYTHONPATH``::

    python docs/benchmark-runs/redesign/tick_gc_probe.py      # the tree's core as it is
    python /path/to/tick_gc_probe.py --no-history            # before the redesign only: the agents' history
                                                              # list emptied after every state change

It builds the benchmark's default state (seed 1), runs its main scenarios (20,000 samples at most, a tick every
fake second: 4,000 ticks) and prints one JSON object: the ticks' times, the same less the collections inside
them, how many ticks a collection of each generation ran in, and every collection of the run by generation.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.getcwd())


def pct(values: list[int], p: float) -> float | None:
    """Nearest-rank percentile of nanoseconds, in microseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, -(-len(ordered) * p // 100) - 1)] / 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-history", action="store_true",
                        help="before the redesign only: empty Agent.history after every transition")
    options = parser.parse_args()
    routing = importlib.import_module("bench.routing")
    if options.no_history:
        agents = importlib.import_module("cti.routing.agents")
        transition = agents.Agent.transition

        def without_history(self: Any, *args: Any, **kwargs: Any) -> None:
            transition(self, *args, **kwargs)
            self.history.clear()

        agents.Agent.transition = without_history
    state = argparse.Namespace(agents=10_000, queues=200, waiting=5_000, ready_fraction=0.01, seed=1)
    rng, clock = random.Random(1), routing.Clock(routing.T0)
    world = routing.build(state, rng, clock)

    collections: list[tuple[int, int, int]] = []  # (start ns, end ns, generation)
    started: list[int] = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            collections.append((started[0], time.perf_counter_ns(), info["generation"]))

    gc.callbacks.append(on_gc)
    center = world.center
    tick = center.tick
    ticks: list[tuple[int, list[int], int]] = []  # (ns, generations collected inside, ns collecting)

    def timed_tick(now: Any) -> Any:
        first, t = len(collections), time.perf_counter_ns()
        commands = tick(now)
        inside = collections[first:]
        ticks.append((time.perf_counter_ns() - t, [c[2] for c in inside], sum(c[1] - c[0] for c in inside)))
        return commands

    center.tick = timed_tick
    tracked = len(gc.get_objects())
    bench = routing.Bench(world, clock, rng, checks=0)
    bench.run(routing.MAIN, 84, 20_000)
    gc.callbacks.remove(on_gc)

    times = [t[0] for t in ticks]
    less_gc = [t[0] - t[2] for t in ticks]
    by_gen = {g: [c[1] - c[0] for c in collections if c[2] == g] for g in (0, 1, 2)}
    print(json.dumps({
        "tree": os.getcwd(), "no_history": options.no_history, "tracked_objects_at_start": tracked,
        "gc_threshold": gc.get_threshold(), "ticks": len(ticks),
        "tick_us": {"p50": pct(times, 50), "p90": pct(times, 90), "p99": pct(times, 99), "max": pct(times, 100),
                    "mean": round(sum(times) / len(times) / 1000, 1)},
        "tick_us_minus_gc_time": {"p50": pct(less_gc, 50), "p99": pct(less_gc, 99), "max": pct(less_gc, 100)},
        "ticks_with_gc_by_gen": {g: sum(1 for t in ticks if g in t[1]) for g in (0, 1, 2)},
        "gc_collections_whole_run": {g: {"n": len(v), "p50_us": pct(v, 50), "p99_us": pct(v, 99),
                                         "max_us": pct(v, 100), "total_ms": round(sum(v) / 1e6, 1)}
                                     for g, v in by_gen.items()},
    }))


if __name__ == "__main__":
    main()
