"""Hold and consult benchmark: do holds and consults slow ordinary calls? The same calls through cti in three
variants, in one run, on the same Asterisk with the same SIPp agents: ``none`` (nobody is put on hold),
``hold`` (a share of the connected calls is put on hold and resumed during the call through the API, as an
agent's desktop does: ``POST /api/calls/{id}/hold`` then ``/resume``, the server moving the caller into the
queue's holding bridge with its music and back) and ``consult`` (the same share consults another agent of the
queue and cancels back, ``POST /api/calls/{id}/consult`` then ``/consult/cancel``). What is compared is what
the *ordinary* calls (those never acted on) get: the share bridged to an agent and the setup latency (caller
INVITE to Asterisk's bridge join of caller and agent) p50/p95/p99.

Run from the repository root inside the venv::

    python bench/hold.py            # default run (about 2 minutes on 2 cores, plus any wait for the root)
    python bench/hold.py --quick    # smoke run (under a minute)

It reuses bench/callpath.py's machinery (a private configuration of the shared Asterisk root, cti in-process,
SIPp callers and agents, the bridge observer) and prints one JSON object as the last line of stdout; progress on
stderr. See docs/benchmarks.md.

The variants are the entries of :data:`VARIANTS`: a name and what is done to a connected call while it lasts
(:class:`DuringCall`). ``none`` does nothing; ``hold`` is :class:`HoldAndResume`; ``consult`` is
:class:`ConsultAndCancel` (consult the queue's ready agent through the API, talk, cancel back to the caller).
Every variant runs the same watcher over cti's live calls, so the watching itself costs each variant the same.
Recording on every call against none is bench/recording.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/hold.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from bench._harness import acquire_root, bench_settings, percentile, redis_url, run_and_print  # noqa: E402
from bench.callpath import ASTERISK_ROOT, Bench, finish_phase, native_conf_dirs, say  # noqa: E402
from cti.acd import WorkItem, WorkState  # noqa: E402


def _ms(values: list[float]) -> dict[str, Any]:
    """n, p50/p95/p99/max in milliseconds of values in seconds."""
    ms = [v * 1000 for v in values]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {"n": len(ms), "p50": r(percentile(ms, 50)), "p95": r(percentile(ms, 95)),
            "p99": r(percentile(ms, 99)), "max": r(max(ms) if ms else None)}


# -- what happens to a connected call ----------------------------------------------------------------------
@dataclass
class DuringCall:
    """Nothing: the baseline. A variant overrides :meth:`act`, which runs once for each chosen call."""

    share: float = 0.0
    """Of the connected calls, the share acted on (every call whose connection order falls in it)."""
    touched: set[str] = field(default_factory=set)
    """The caller numbers of the calls acted on: not ordinary calls."""
    outcomes: Counter[str] = field(default_factory=Counter)
    api_s: dict[str, list[float]] = field(default_factory=dict)

    def chosen(self, n: int) -> bool:
        """Whether the n-th connected call (from 0) is acted on: spread evenly, ``share`` of them."""
        return int((n + 1) * self.share) > int(n * self.share)

    async def act(self, bench: Bench, call: WorkItem) -> None:
        return None

    async def timed(self, bench: Bench, name: str, path: str, body: dict[str, Any] | None = None) -> bool:
        """One API request, timed; a refusal (the call ended meanwhile) is counted, not raised."""
        started = time.monotonic()
        try:
            await bench.api("POST", path, body)
        except RuntimeError as exc:  # bench.api raises on any other status
            status = re.search(r"HTTP (\d+)", str(exc))
            self.outcomes[f"{name}_refused_{status.group(1) if status else 'error'}"] += 1
            return False
        self.api_s.setdefault(name, []).append(time.monotonic() - started)
        self.outcomes[name] += 1
        return True


@dataclass
class HoldAndResume(DuringCall):
    """Hold the caller ``after_s`` after the agent answered, for ``hold_s``, then resume."""

    after_s: float = 0.8
    hold_s: float = 1.2

    async def act(self, bench: Bench, call: WorkItem) -> None:
        await asyncio.sleep(self.after_s)
        if await self.timed(bench, "hold", f"/api/calls/{call.call_id}/hold"):
            await asyncio.sleep(self.hold_s)
            await self.timed(bench, "resume", f"/api/calls/{call.call_id}/resume")


@dataclass
class ConsultAndCancel(DuringCall):
    """``after_s`` after the answer, consult the call's own queue (its longest-idle ready agent is rung; the caller
    holds with music), talk ``consult_s`` with them, then cancel back to the caller: every step of an attended
    transfer but the hand-over, on the real path (originate, bridge moves, hang-up of the consulted leg)."""

    after_s: float = 0.8
    consult_s: float = 1.2

    async def act(self, bench: Bench, call: WorkItem) -> None:
        await asyncio.sleep(self.after_s)
        if await self.timed(bench, "consult", f"/api/calls/{call.call_id}/consult", {"queue": call.queue}):
            await asyncio.sleep(self.consult_s)
            await self.timed(bench, "cancel", f"/api/calls/{call.call_id}/consult/cancel")


VARIANTS: dict[str, type[DuringCall]] = {"none": DuringCall, "hold": HoldAndResume, "consult": ConsultAndCancel}
"""The variants, run in this order at each rate; the first is the baseline."""


class Watcher:
    """Watches cti's live calls (its read-only view, every ``every_s``) and hands each newly connected call, in
    the order they connect, to the variant when the variant chooses it."""

    def __init__(self, bench: Bench, during: DuringCall, every_s: float = 0.05) -> None:
        self.bench = bench
        self.during = during
        self.every_s = every_s
        self.seen: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._watch(), name="bench-hold-watcher")

    async def _watch(self) -> None:
        query = self.bench.running.distributor.query
        while True:
            for call in query.calls():
                if call.state is not WorkState.CONNECTED or call.call_id in self.seen:
                    continue
                n = len(self.seen)
                self.seen.add(call.call_id)
                if self.during.chosen(n):
                    self.during.touched.add(call.caller_number)
                    task = asyncio.create_task(self.during.act(self.bench, call))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
            await asyncio.sleep(self.every_s)

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await asyncio.gather(*self.tasks, return_exceptions=True)


# -- the run -----------------------------------------------------------------------------------------------
async def measured(bench: Bench, args: argparse.Namespace, variant: str, rate: float) -> dict[str, Any]:
    """One phase of one variant at one rate: the ordinary calls' numbers, and what the variant did."""
    during = VARIANTS[variant](share=args.share if variant != "none" else 0.0)
    watcher = Watcher(bench, during)
    watcher.start()
    try:
        result = await bench.phase("cti", calls=max(20, round(rate * args.seconds)), rate=rate, agents=args.agents,
                                   talk_ms=args.talk_ms, duration_ms=args.caller_ms)
    finally:
        await watcher.stop()
    invite_sent: dict[str, float] = result["_invite_sent"]
    records = result.get("server", {}).get("_records") or []
    joined = bench.observer.bridged
    ordinary = [n for n in invite_sent if n not in during.touched]
    bridged = [n for n in ordinary if n in joined]
    held_in_books = sum(1 for r in records if r.hold_count > 0)
    # A call that finds an agent ready is offered at once; one that finds none waits in the queue until an agent
    # hangs up. From cti's own records: how long each ordinary call waited to be offered (arrival to offer).
    ordinary_numbers = {n for n in invite_sent if n not in during.touched}
    queued = [(r.offered_at - r.arrived_at).total_seconds() for r in records
              if r.caller_number in ordinary_numbers and r.offered_at is not None]
    waited = sum(1 for q in queued if q > 0.02)
    finish_phase(result)
    line = {
        "variant": variant, "rate": rate, "calls": result["calls"], "offered_rate": result["offered_rate"],
        "ordinary": {"calls": len(ordinary), "bridged": len(bridged),
                     "bridged_pct": round(100 * len(bridged) / len(ordinary), 2) if ordinary else None,
                     "setup_latency_ms": _ms([joined[n] - invite_sent[n] for n in bridged]),
                     "waited_for_an_agent": waited, "wait_to_offer_ms": _ms(queued)},
        "all_calls": {"bridged": result["bridged"], "connected_pct": result["connected_pct"],
                      "callers_gave_up": result["callers_gave_up"],
                      "answered_never_bridged": result["answered_never_bridged"]},
        "acted_on": {"calls": len(during.touched), "api": dict(during.outcomes),
                     "api_ms": {name: _ms(values) for name, values in during.api_s.items()},
                     "interactions_with_a_hold": held_in_books},
        "cpu_cores": result["cpu_cores"], "cpu_ms_per_call": result["cpu_ms_per_call"],
        "channels_force_hung_up": result["channels_force_hung_up"],
    }
    say(f"  {variant}: ordinary bridged {len(bridged)}/{len(ordinary)}, p50 "
        f"{line['ordinary']['setup_latency_ms']['p50']} ms p95 {line['ordinary']['setup_latency_ms']['p95']} ms; "
        f"acted on {len(during.touched)}: {dict(during.outcomes)}")
    return line


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-hold-"))
    settings = bench_settings(url, tmp, ASTERISK_ROOT, sim_agents=max(50, args.agents))
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
        await bench.start_cti(settings.sim_agent_extensions()[:args.agents])
        phases: list[dict[str, Any]] = []
        for i, rate in enumerate(args.rates):
            # Alternating (none, hold, then hold, none at the next rate): the machine's drift between phases
            # does not land on one variant.
            variants = list(VARIANTS) if args.order == "fixed" or i % 2 == 0 else list(reversed(VARIANTS))
            for variant in variants:
                say(f"-- {variant} at {rate:g}/s")
                phases.append(await measured(bench, args, variant, rate))
        comparison = []
        baseline = next(iter(VARIANTS))
        for rate in args.rates:
            base = next(p for p in phases if p["rate"] == rate and p["variant"] == baseline)
            for p in phases:
                if p["rate"] != rate or p["variant"] == baseline:
                    continue
                a, b = base["ordinary"], p["ordinary"]
                comparison.append({
                    "rate": rate, "variant": p["variant"], "against": baseline,
                    "ordinary_bridged_pct": [a["bridged_pct"], b["bridged_pct"]],
                    "ordinary_p50_ms": [a["setup_latency_ms"]["p50"], b["setup_latency_ms"]["p50"]],
                    "ordinary_p95_ms": [a["setup_latency_ms"]["p95"], b["setup_latency_ms"]["p95"]],
                })
        out = {
            "benchmark": "hold",
            "asterisk": version.group(1) if version else "unknown",
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start,
                        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                        "note": "a shared machine: other engineers' tests and benchmarks may run meanwhile "
                                "(see each phase's cpu_cores.other)"},
            "settings": {"rates": args.rates, "order": args.order, "seconds": args.seconds, "agents": args.agents,
                         "ring_ms": args.ring_ms, "talk_ms": args.talk_ms, "share": args.share,
                         "hold_after_s": HoldAndResume.after_s, "hold_s": HoldAndResume.hold_s,
                         "consult_after_s": ConsultAndCancel.after_s, "consult_s": ConsultAndCancel.consult_s},
            "comparison": comparison,
            "phases": phases,
            "method": ("The same cti, Asterisk and SIPp agents (talking talk_ms, then hanging up); at each rate "
                       "the variants in turn. 'hold': a watcher over cti's live calls puts every chosen "
                       "connected call (share of them, spread evenly) on hold through POST "
                       "/api/calls/{id}/hold hold_after_s after it connected and resumes it hold_s later; "
                       "'consult': the same share consults the call's queue (its ready agent is rung and "
                       "talks with the agent while the caller holds) consult_after_s after it connected and "
                       "cancels back consult_s later; "
                       "with order 'alternate' the variants' order is reversed at every other rate; "
                       "'none' runs the same watcher and acts on nothing. Ordinary calls: those never acted on. "
                       "Setup latency: caller INVITE to Asterisk's ChannelEnteredBridge of caller and agent "
                       "(bench/callpath.py's observer), nearest-rank percentiles."),
        }
    finally:
        await bench.tear_down(url, private_redis, tmp)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[10.0, 15.0],
                   help="call rates (calls/s); at each, every variant in turn")
    p.add_argument("--seconds", type=float, default=20, help="length of each phase's offered load")
    p.add_argument("--agents", type=int, default=50, help="SIPp agents")
    p.add_argument("--ring-ms", type=int, default=100, help="agents ring this long before answering")
    p.add_argument("--talk-ms", type=int, default=3000,
                   help="agents hang up after talking this long (longer than the hold and its wait)")
    p.add_argument("--caller-ms", type=int, default=15000, help="a caller gives up this long after the answer")
    p.add_argument("--share", type=float, default=0.3,
                   help="share of connected calls held (or consulting) in the hold and consult variants")
    p.add_argument("--order", choices=("alternate", "fixed"), default="alternate",
                   help="variants in the same order at every rate, or reversed at every other rate")
    p.add_argument("--quick", action="store_true", help="smoke run: one rate (10/s) for 8 s")
    p.add_argument("--keep-logs", action="store_true", help="keep SIPp work directories (paths in stderr)")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.rates, args.seconds = [10.0], 8.0
    if not 0 < args.share <= 1:
        p.error("--share must be in (0, 1]")
    if args.talk_ms / 1000 <= HoldAndResume.after_s + HoldAndResume.hold_s:
        p.error("--talk-ms must be longer than the hold's wait and length")
    args.native_as_configured = False
    args.loadavg_at_start = [round(x, 2) for x in os.getloadavg()]
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
