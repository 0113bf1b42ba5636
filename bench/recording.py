"""Recording benchmark: does recording every call slow ordinary calls? The same calls through cti twice, once
with recording off and once with every call recorded (the queue's policy ``always``), on the same Asterisk with
the same SIPp agents; the highest call rate each sustains, and the latency at a fixed rate.

Run from the repository root inside the venv::

    python bench/recording.py            # default run (about 6 minutes on 2 cores)
    python bench/recording.py --quick    # smoke run (about 2 minutes)

It reuses bench/callpath.py's machinery (a private configuration of the shared Asterisk root, cti in-process,
SIPp callers and agents, the bridge observer, the same latency and "sustained" criterion) and prints one JSON
object as the last line of stdout; progress on stderr. The goal (issue 17): with recording on for every call the
sustained call rate stays within 10 % of recording off. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/recording.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from bench._harness import acquire_root, bench_settings, redis_url, run_and_print  # noqa: E402
from bench.callpath import (  # noqa: E402
    ASTERISK_ROOT,
    CONNECTED_MIN_PCT,
    P99_LIMIT_MS,
    Bench,
    _attempt_line,
    _step_line,
    finish_phase,
    native_conf_dirs,
    say,
)

MODES = {"off": "never", "always": "always"}


def rules(mode: str) -> dict[str, Any]:
    return {"queues": {"general": {"recording": MODES[mode]}}, "default_queue": "general"}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-rec-"))
    rules_file, recordings = tmp / "rules.yaml", tmp / "recordings"
    rules_file.write_text(yaml.safe_dump(rules("off")))
    settings = bench_settings(url, tmp, ASTERISK_ROOT, sim_agents=max(50, args.agents, args.step_agents),
                              routing_rules=rules_file, recording_dir=recordings)
    root, lock_wait = await acquire_root(settings, say)
    bench = Bench(args, settings, root)
    out: dict[str, Any] = {}
    try:
        if root.pid() is not None:
            await asyncio.to_thread(root.stop)
        conf_dirs, _ = native_conf_dirs(tmp, as_configured=False)
        await asyncio.to_thread(root.install_config, settings, conf_dirs)
        await asyncio.to_thread(root.start, settings)
        version = re.search(r"Asterisk (\d+\.\d+\.\d+)", await bench.cli("core show version"))
        await bench.observer.start()
        await bench.start_cti(settings.sim_agent_extensions()[:max(args.agents, args.step_agents)])
        results: dict[str, Any] = {}
        for mode in MODES:
            rules_file.write_text(yaml.safe_dump(rules(mode)))
            await bench.api("POST", "/api/routing/reload")
            say(f"-- recording {mode}")
            files_before = _files(recordings)
            fixed = finish_phase(await bench.phase("cti", calls=args.calls, rate=args.rate, agents=args.agents,
                                                   talk_ms=args.talk_ms, duration_ms=args.caller_ms))
            steps: list[dict[str, Any]] = []
            for rate in args.steps:
                result: dict[str, Any] = {}
                earlier: list[dict[str, Any]] = []
                for attempt in range(1 + args.retries):
                    if attempt:
                        say(f"  retrying {rate:g}/s (attempt {attempt + 1}): the machine is shared")
                    result = finish_phase(await bench.phase(
                        "cti", calls=max(20, round(rate * args.step_seconds)), rate=rate, agents=args.step_agents,
                        talk_ms=args.step_talk_ms, duration_ms=args.step_caller_ms))
                    if result["sustained"]:
                        break
                    earlier.append(result)
                result["failed_attempts"] = [_attempt_line(r) for r in earlier if r is not result]
                steps.append(result)
                if not result["sustained"]:
                    break
            await asyncio.sleep(2)  # the last calls' recordings land
            results[mode] = {
                "fixed": {"calls": args.calls, "rate": args.rate, "bridged": fixed["bridged"],
                          "connected_pct": fixed["connected_pct"], "latency_ms": fixed["latency_ms"],
                          "cpu_ms_per_call": fixed["cpu_ms_per_call"]},
                "steps": [_step_line(s) for s in steps],
                "max_sustained_rate": max((s["rate"] for s in steps if s["sustained"]), default=0.0),
                "limit_reached": bool(steps) and not steps[-1]["sustained"],
                "recordings_stored": _files(recordings) - files_before,
            }
        off, on = results["off"]["max_sustained_rate"], results["always"]["max_sustained_rate"]
        ratio = round(on / off, 3) if off else None
        out = {
            "benchmark": "recording",
            "asterisk": version.group(1) if version else "unknown",
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "format": settings.recording_format,
            "off": results["off"],
            "always": results["always"],
            "max_sustained_rate": {"off": off, "always": on, "ratio": ratio,
                                   "within_10_pct": ratio is not None and ratio >= 0.9,
                                   "criterion": f"connected >= {CONNECTED_MIN_PCT:g} % and p99 latency <= "
                                                f"{P99_LIMIT_MS:g} ms (bench/callpath.py's)"},
            "method": ("The same cti, Asterisk and SIPp agents; the queue's recording policy switched between "
                       "never and always by reloading the routing rules. Per mode: a fixed-rate phase, then rate "
                       "steps until the first step not sustained (after --retries). Latency: caller INVITE to "
                       "Asterisk's ChannelEnteredBridge of caller and agent (bench/callpath.py). Recordings "
                       "stored: files in cti's recordings directory after the mode's phases."),
        }
    finally:
        await bench.tear_down(url, private_redis, tmp)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


def _files(directory: Path) -> int:
    return sum(1 for _ in directory.glob("**/*.*")) if directory.exists() else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--calls", type=int, default=100, help="calls in each mode's fixed-rate phase")
    p.add_argument("--rate", type=float, default=10, help="calls per second in the fixed-rate phase")
    p.add_argument("--agents", type=int, default=20, help="SIPp agents in the fixed-rate phase")
    p.add_argument("--ring-ms", type=int, default=100, help="agents ring this long before answering")
    p.add_argument("--talk-ms", type=int, default=1000, help="agents hang up after talking this long")
    p.add_argument("--caller-ms", type=int, default=30000, help="a caller gives up this long after the answer")
    p.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")], default=[10, 20, 40, 60, 80],
                   help="rates (calls/s) of the max-sustained-rate search, ascending")
    p.add_argument("--step-seconds", type=float, default=15, help="length of each rate step")
    p.add_argument("--step-agents", type=int, default=50, help="SIPp agents during the rate steps")
    p.add_argument("--step-talk-ms", type=int, default=1000, help="talk time during the rate steps")
    p.add_argument("--retries", type=int, default=1, help="run a failed step again this many times")
    p.add_argument("--step-caller-ms", type=int, default=10000, help="caller patience during the rate steps")
    p.add_argument("--quick", action="store_true", help="smoke run: 30 calls, steps 5,10 of 6 s")
    p.add_argument("--keep-logs", action="store_true", help="keep SIPp work directories (paths in stderr)")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.steps, args.step_seconds = min(args.calls, 30), [5.0, 10.0], 6.0
    if args.steps != sorted(args.steps):
        p.error("--steps must be ascending")
    args.native_as_configured = False
    args.loadavg_at_start = [round(x, 2) for x in os.getloadavg()]
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
