"""Overload benchmark: callers at twice the rate cti sustains, for a minute, with and without admission control.

Run from the repository root inside the venv, on a machine with nothing else running (the numbers are rates)::

    python bench/overload.py            # about 8 minutes on 2 cores
    python bench/overload.py --quick    # smoke run (about 2 minutes, short phases: not a measurement)

It starts what bench/callpath.py starts (a private configuration of the shared Asterisk root, cti in-process
with a fresh SQLite database and its own Redis prefix, SIPp agents and callers) and measures with its method:
a call is *bridged* when a second ARI application sees Asterisk put the caller and an agent in one bridge.

1. **Capacity** ``C``: cti alone at rising rates (``--steps``), admission control out of the way; ``C`` is the
   highest step sustained (connected >= 99 % and p99 latency <= 2 s, as in bench/callpath.py).
2. **Overload**, once per admission setting (``--variants``): callers at ``2 C`` for ``--seconds``, then, at once,
   callers at ``C / 2`` for ``--recovery-seconds`` while the last overload callers are still in. Settings:
   ``none`` (no bound: the baseline, what cti did before), ``rate`` (``CTI_MAX_ARRIVAL_RATE`` = ``C``, an
   operator who knows the capacity) and ``setups`` (the default ``CTI_MAX_CALL_SETUPS`` alone, no rate set).
   Reported per setting: the overload callers bridged per second of the window against ``C`` (the issue's target:
   >= 90 %), their latency, how many were shed and heard the message (cti's counters and the interaction rows,
   outcome ``rejected``), and the recovery callers' connected share and latency (the target: served as at low
   load, at once).

Prints one JSON object as the last line of stdout; progress on stderr. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._harness import acquire_root, bench_settings, redis_url, run_and_print, summary_ms  # noqa: E402
from bench.callpath import (  # noqa: E402
    ASTERISK_ROOT,
    CTI_SERVICE,
    Bench,
    CpuMeter,
    finish_phase,
    say,
    start_caller,
)
from cti.persistence import InteractionRepository  # noqa: E402

VARIANTS = ("none", "rate", "setups")
UNBOUNDED = 1_000_000


def _admission(bench: Bench, variant: str, capacity: float, default_setups: int) -> dict[str, Any]:
    """Set cti's admission control for ``variant`` (its live object: the bounds are read at every arrival)."""
    control = bench.running.telephony.admission
    control.max_setups = UNBOUNDED if variant in ("none", "rate") else default_setups
    control.max_rate = capacity if variant == "rate" else 0.0
    control._tokens, control._last = 0.0, None  # a fresh bucket for the phase
    control.shed = dict.fromkeys(control.shed, 0)  # and its own count of callers shed
    return {"max_call_setups": None if control.max_setups == UNBOUNDED else control.max_setups,
            "max_arrival_rate": control.max_rate or None}


async def _overload(bench: Bench, args: argparse.Namespace, variant: str, capacity: float,
                    default_setups: int) -> dict[str, Any]:
    """One overload window and its recovery, measured from outside (SIPp, the bridge observer) and inside (cti)."""
    extensions = await bench.ensure_agents(args.agents, args.talk_ms)
    await bench.queue_members([])
    await bench.cti_login(extensions)
    admission = _admission(bench, variant, capacity, default_setups)
    before = Counter(bench.running.counters)
    high, low = 2 * capacity, capacity / 2
    prefixes = []
    for _ in range(2):
        bench.phase_no += 1
        prefixes.append(f"02{bench.phase_no:03d}9")
    over_calls, rec_calls = max(10, round(high * args.seconds)), max(5, round(low * args.recovery_seconds))
    say(f"{variant:7s} overload: {over_calls} calls at {high:g}/s, then {rec_calls} at {low:g}/s "
        f"(admission: {admission})")
    agent_marks = [len(a.read_events()) for a in bench.agents]
    started = time.monotonic()
    with CpuMeter(bench.root.pid() or 0, bench.agents) as meter:
        over = start_caller(CTI_SERVICE, prefixes[0], calls=over_calls, rate=high, duration_ms=args.caller_ms)
        await asyncio.sleep(over_calls / high)
        recovery = start_caller(CTI_SERVICE, prefixes[1], calls=rec_calls, rate=low, duration_ms=args.caller_ms)
        limit = args.seconds + args.recovery_seconds + args.caller_ms / 1000 + 60
        while (over.running or recovery.running) and time.monotonic() - started < limit:  # noqa: ASYNC110
            await asyncio.sleep(0.25)
        cpu, _ = meter.result()
        events = {prefixes[0]: over.read_events(), prefixes[1]: recovery.read_events()}
        for caller in (over, recovery):
            caller.stop(keep=bench.keep_logs)
    forced = await bench.settle()
    await bench.running.telephony.drain()
    stats = Counter(bench.running.counters)
    stats.subtract(before)
    records = await InteractionRepository(bench.db).list(limit=100_000)
    result: dict[str, Any] = {"variant": variant, "admission": admission, "cpu_cores": cpu,
                              "channels_force_hung_up": forced, "wall_s": round(time.monotonic() - started, 1)}
    for name, prefix, calls, rate in (("overload", prefixes[0], over_calls, high),
                                      ("recovery", prefixes[1], rec_calls, low)):
        seen = bench._analyse(prefix, events[prefix], agent_marks, calls)
        invites = seen["_invite_sent"]
        bridged_at = [bench.observer.bridged[n] for n in invites if n in bench.observer.bridged]
        mine = [r for r in records if r.caller_number.startswith(prefix)]
        outcomes = Counter(r.outcome for r in mine)
        part = finish_phase({**seen, "server": {}})
        part.update({"rate": rate, "outcomes": dict(outcomes)})
        if name == "overload":
            window = calls / rate
            part["bridged_per_s"] = round(len(bridged_at) / window, 2)
            part["bridged_vs_capacity"] = round(len(bridged_at) / window / capacity, 3) if capacity else None
        else:
            first = sorted(invites.values())[0] if invites else 0.0
            early = [bench.observer.bridged[n] - t for n, t in invites.items()
                     if n in bench.observer.bridged and t - first <= 5.0]
            part["first_5_s_latency_ms"] = summary_ms(early)
        result[name] = part
    result["shed"] = {"counter": stats["calls_shed"], "heard_the_message": stats["calls_shed_with_message"],
                      "by_bound": dict(bench.running.telephony.admission.shed)}
    over_part, rec_part = result["overload"], result["recovery"]
    say(f"  overload: bridged {over_part['bridged']}/{over_calls} ({over_part['bridged_per_s']}/s = "
        f"{over_part['bridged_vs_capacity']} of C), p99 {over_part['latency_ms']['p99']} ms, "
        f"shed {result['shed']['counter']} (message: {result['shed']['heard_the_message']}); recovery: "
        f"{rec_part['connected_pct']} % connected, p99 {rec_part['latency_ms']['p99']} ms")
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-"))
    settings = bench_settings(url, tmp, ASTERISK_ROOT, sim_agents=max(50, args.agents))
    root, lock_wait = await acquire_root(settings, say)
    args.keep_logs = False  # read by callpath's Bench
    bench = Bench(args, settings, root)
    out: dict[str, Any] = {"benchmark": "overload"}
    try:
        if root.pid() is not None:
            await asyncio.to_thread(root.stop)
        await asyncio.to_thread(root.install_config, settings)
        await asyncio.to_thread(root.start, settings)
        await bench.observer.start()
        await bench.start_cti(settings.sim_agent_extensions()[:args.agents])
        default_setups = bench.running.telephony.admission.max_setups
        steps = []
        capacity = 0.0
        for rate in args.steps:
            _admission(bench, "none", 0.0, default_setups)
            step = finish_phase(await bench.phase(
                "cti", calls=max(20, round(rate * args.step_seconds)), rate=rate, agents=args.agents,
                talk_ms=args.talk_ms, duration_ms=args.caller_ms))
            steps.append({k: step[k] for k in ("rate", "offered_rate", "bridged", "connected_pct", "sustained",
                                               "cpu_cores")} | {"p99_ms": step["latency_ms"]["p99"]})
            if not step["sustained"]:
                break
            capacity = rate
        if capacity == 0.0:
            raise RuntimeError(f"cti sustained none of the steps {args.steps}: nothing to overload")
        say(f"capacity C = {capacity:g} calls/s")
        variants = [await _overload(bench, args, variant, capacity, default_setups) for variant in args.variants]
        out.update({
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "agents": args.agents, "ring_ms": args.ring_ms, "talk_ms": args.talk_ms, "caller_ms": args.caller_ms,
            "capacity": {"calls_per_s": capacity, "steps": steps, "step_seconds": args.step_seconds,
                         "criterion": "connected >= 99 % and p99 latency <= 2000 ms"},
            "seconds": args.seconds, "recovery_seconds": args.recovery_seconds,
            "default_max_call_setups": default_setups,
            "variants": variants,
            "target": "overload callers bridged per second >= 0.9 C; shed callers hear the message; the recovery "
                      "callers served as at low load",
        })
    finally:
        await bench.tear_down(url, private_redis, tmp)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")], default=[20, 30, 40, 50, 60, 80],
                   help="calls per second of the capacity steps")
    p.add_argument("--step-seconds", type=float, default=15)
    p.add_argument("--agents", type=int, default=50, help="SIPp agents (7001..)")
    p.add_argument("--ring-ms", type=int, default=100)
    p.add_argument("--talk-ms", type=int, default=200)
    p.add_argument("--caller-ms", type=int, default=10000, help="how long a caller waits once answered")
    p.add_argument("--seconds", type=float, default=60, help="the overload window")
    p.add_argument("--recovery-seconds", type=float, default=20)
    p.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    p.add_argument("--quick", action="store_true", help="smoke run: steps 5,10 of 6 s, windows of 10 and 6 s")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if any(v not in VARIANTS for v in args.variants):
        p.error(f"--variants: each one of {', '.join(VARIANTS)}")
    if args.quick:
        args.steps, args.step_seconds, args.seconds, args.recovery_seconds = [5.0, 10.0], 6.0, 10.0, 6.0
    args.loadavg_at_start = os.getloadavg()[0]
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
