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

**The cluster** (``--cluster``, issue 21's topology: two Asterisk media nodes behind Kamailio, which sheds new
INVITEs past its edge rate, docs/scaling.md#overload-at-the-edge). Run it as root (the nodes run in mount
namespaces), from the repository root, on a quiet machine::

    .venv/bin/python bench/overload.py --cluster > overload-cluster.json     # the full run (about 10 minutes)
    .venv/bin/python bench/overload.py --cluster --capacity 100              # C given: one step to show it holds

    # a smoke run (not a measurement), niced on a shared machine: about 2 minutes
    nice -n 19 .venv/bin/python bench/overload.py --cluster --capacity 5 --step-seconds 6 --seconds 10 \
        --recovery-seconds 6 --agents 10 --caller-ms 5000

It starts a private cluster (bench/_cluster.py: its own folder, ports offset by ``--cluster-port-offset``; stopped
whole at the end, after an error or a SIGINT/SIGTERM too) or uses the one running in ``--cluster-dir`` (its edge
bounds put back at the end), cti in-process on both nodes with the cluster's PostgreSQL, ``--agents`` SIPp phones
(198: 99 a node) homed on the nodes in turn, talking 1 s (``--talk-ms``: a bridge cti makes late is still made), and
SIPp callers sending to Kamailio.

1. A warm-up (20 callers, not counted), then **capacity** ``C`` with the edge's bound off: the highest of ``--steps``
   (20, 40, ..., 160 a second) sustained (as above; a failed step run again, ``--retries``), or ``--capacity`` given
   and one step run at it to show it holds.
2. Per ``--cluster-variants``: callers at ``2 C`` for ``--seconds``, then at once at ``C`` (``--recovery-rate``)
   for ``--recovery-seconds``. ``edge``: Kamailio lets in ``C`` new calls a second (``--edge-rate``) and tells
   ``--edge-message-rate`` shed callers a second why; ``none``: no bound (the baseline: what the edge prevents).
   Reported: the calls bridged a second in the overload window against ``C`` (target >= 0.9), the callers shed
   (told why, or refused at once) against cti's ``rejected``/``overload`` rows and its counters, the callers let
   in but dropped, apart from them the bridges lost because the bench's phone had already hung up, the recovery's
   first bridged call and its share bridged, CPU by part of the cluster. A variant that fails is recorded (its
   ``error``) and the next one runs; a run that fails still prints what it measured, with its ``error``.

Prints one JSON object as the last line of stdout; progress on stderr. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._cluster import (  # noqa: E402
    ClusterBench,
    cluster_for,
    cluster_settings,
    description,
    stop_cluster,
    store_of,
)
from bench._harness import (  # noqa: E402
    acquire_root,
    bench_settings,
    cancel_on_signals,
    redis_url,
    run_and_print,
    summary_ms,
)
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
CLUSTER_VARIANTS = ("edge", "none")
UNBOUNDED = 1_000_000
# Defaults that differ by mode (filled in by parse_args): the in-process run's are those of its run 1.
DEFAULTS = {"steps": [20.0, 30.0, 40.0, 50.0, 60.0, 80.0], "agents": 50, "talk_ms": 200}
# The cluster's: phones that talk 1 s, so a bridge cti makes late under load is still made (at 200 ms the first full
# run lost 2,268 of them to its own phones), and enough of them, 99 a node, for steps past 80 calls/s (first run:
# every step to 80/s bridged, its top): 198 phones of ~1.2 s a call serve ~165 calls/s.
CLUSTER_DEFAULTS = {"steps": [20.0, 40.0, 60.0, 80.0, 100.0, 120.0, 140.0, 160.0], "agents": 198, "talk_ms": 1000}


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


def _compact(part: dict[str, Any]) -> dict[str, Any]:
    """A capacity step's line."""
    keys = ("rate", "offered_rate", "calls", "bridged", "connected_pct", "sustained", "shed", "dropped",
            "agent_utilization_pct")
    return {k: part[k] for k in keys} | {"latency_ms": {k: part["latency_ms"][k] for k in ("p50", "p99", "max")}}


async def _cluster_overload(bench: ClusterBench, args: argparse.Namespace, variant: str, capacity: float,
                            edge_rate: int) -> dict[str, Any]:
    """One overload window at ``2 C`` through Kamailio, then at once ``C`` again, with the edge's bound at
    ``edge_rate`` (``edge``) or none (``none``, the baseline)."""
    edge = await bench.set_edge(edge_rate if variant == "edge" else 0, args.edge_message_rate)
    high, low = 2 * capacity, args.recovery_rate or capacity
    over_calls, rec_calls = max(10, round(high * args.seconds)), max(5, round(low * args.recovery_seconds))
    m = await bench.measure(f"{variant} (edge {edge})", [("overload", over_calls, high), ("recovery", rec_calls, low)],
                            talk_ms=args.talk_ms, duration_ms=args.caller_ms)
    over, rec = m["overload"], m["recovery"]
    for part in (over, rec):
        del part["sustained"]  # a step's criterion: the callers shed on purpose count against it
    counters = m["cti_counters"]
    rejected_rows = over["rows"].get("rejected/overload", 0) + rec["rows"].get("rejected/overload", 0)
    shed_seen = over["shed"]["total"] + rec["shed"]["total"]
    phones_first = (over["dropped"]["agent_hung_up_before_bridged"]
                    + rec["dropped"]["agent_hung_up_before_bridged"])
    result = {
        "variant": variant, "edge": edge,
        "overload": over, "recovery": rec,
        "bridged_per_s_vs_capacity": round(over["bridged_per_s"] / capacity, 3),
        "recovery_bridged_per_s_vs_capacity": round(rec["bridged_per_s"] / capacity, 3),
        "shed_vs_rows": {"shed_seen_by_callers": shed_seen, "rejected_overload_rows": rejected_rows,
                         "noted_at_the_edge": counters["calls_shed_at_edge"],
                         "noted_with_the_message": counters["calls_shed_at_edge_with_message"],
                         "shed_by_cti_itself": counters["calls_shed"]},
        "dropped": {k: over["dropped"][k] + rec["dropped"][k] for k in over["dropped"]},
        # The bench's own loss, not the cluster's: callers whose bridge cti made after the phone had hung up (cti's
        # bridges_failed, in cti_counters, counts these and the bridges that failed because the caller had gone).
        "agent_hung_up_before_bridged": phones_first,
        "cti_counters": counters, "cpu_cores": m["cpu_cores"], "channels_force_hung_up": m["channels_force_hung_up"],
        "drain_timeouts": m["drain_timeouts"], "wall_s": m["wall_s"],
    }
    say(f"  {variant}: overload bridged {over['bridged_per_s']}/s in its window = "
        f"{result['bridged_per_s_vs_capacity']} of C (shed {over['shed']['total']}, "
        f"{over['shed']['heard_the_message']} told); recovery: first bridged after {rec['first_bridged_after_s']} s, "
        f"{rec['connected_pct']} % connected; rows rejected/overload {rejected_rows} of {shed_seen} shed; "
        f"phones hung up before the bridge {phones_first}, bridges failed {counters['bridges_failed']}, "
        f"journal flushes timed out {m['drain_timeouts']}")
    return result


async def _variant_or_error(bench: ClusterBench, args: argparse.Namespace, variant: str, capacity: float,
                            edge_rate: int) -> dict[str, Any]:
    """A variant's result, or what ended it: one variant failing (a settling, ARI under the flood) leaves the
    others to run and the run's JSON to be printed (the first full run printed none: its last variant died)."""
    try:
        return await _cluster_overload(bench, args, variant, capacity, edge_rate)
    except Exception as exc:  # recorded in the JSON, the run goes on
        say(f"  {variant}: failed: {exc!r}")
        with contextlib.suppress(Exception):
            await bench.settle()  # the next variant starts from nodes without channels, if they can be had
        return {"variant": variant, "error": f"{type(exc).__name__}: {exc}"}


async def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    """``--cluster``: the same question asked of the cluster, Kamailio shedding at the edge (docs/benchmarks.md)."""
    t0 = time.monotonic()
    cancel_on_signals()
    args.keep_logs = False  # read by callpath's Bench
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-cluster-"))
    try:
        cluster, private = cluster_for(args, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    starting: asyncio.Task[None] | None = None
    bench: ClusterBench | None = None
    out: dict[str, Any] = {"benchmark": "overload", "mode": "cluster"}
    try:
        if private:
            say(f"starting a private cluster in {cluster.dir} (port offset {args.cluster_port_offset})")
            starting = asyncio.create_task(asyncio.to_thread(cluster.start, 120, lambda line: say(f"  {line}")))
            await asyncio.shield(starting)  # interrupted, the start still ends before the cluster is stopped
        info = description(cluster)
        settings = cluster_settings(info, tmp)
        bench = ClusterBench(args, settings, cluster, info, private)
        await bench.observer.start()
        await bench.start_cti(bench.extensions)
        # What cti really writes to (its running database), not what was asked for.
        out["store"] = {"backend": bench.db.backend, "url": bench.db.url,
                        "asked": store_of(settings.database_url)}
        say(f"cti's store: {bench.db.backend} ({bench.db.url})")
        steps: list[dict[str, Any]] = []
        out.update({
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "cluster": {"private": private, "directory": str(cluster.dir), "nodes": [n["name"] for n in info["nodes"]],
                        "kamailio": info["kamailio"]["sip"]},
            "agents": {"count": args.agents, "homes": dict(Counter(bench.home(e) for e in bench.extensions)),
                       "timer_slack_ms": args.agent_timer_slack_ms,
                       # What the phones alone could serve, each call held ring + talk + ~100 ms: a step near it
                       # measures the phones, not the cluster (agent_utilization_pct says how near).
                       "calls_per_s_at_most": round(args.agents / ((args.ring_ms + args.talk_ms + 100) / 1000), 1)},
            "ring_ms": args.ring_ms, "talk_ms": args.talk_ms, "caller_ms": args.caller_ms,
            "capacity": {"calls_per_s": None, "given": bool(args.capacity), "steps": steps,
                         "step_seconds": args.step_seconds,
                         "criterion": "connected >= 99 % and p99 latency <= 2000 ms, no edge bound"},
            "seconds": args.seconds, "recovery_seconds": args.recovery_seconds,
            "target": "overload: bridged per second in the window >= 0.9 C; every shed caller a rejected/overload "
                      "row; recovery: first bridged at once, the recovery callers served as at capacity",
        })
        await bench.set_edge(0)
        # The first calls of a fresh cti and fresh nodes are slower (imports, caches): not part of any step.
        warm = (await bench.measure("warm-up, not counted", [("warm_up", 20, 4.0)], talk_ms=args.talk_ms,
                                    duration_ms=args.caller_ms))["warm_up"]
        out["warm_up"] = {k: warm[k] for k in ("calls", "rate", "bridged")}
        capacity = 0.0
        for rate in [args.capacity] if args.capacity else args.steps:
            failed: list[dict[str, Any]] = []
            for attempt in range(1 + args.retries):
                if attempt:
                    say(f"  again at {rate:g}/s (attempt {attempt + 1}): the machine may have been busy")
                m = await bench.measure(f"capacity step {rate:g}/s, no edge bound", [
                    ("step", max(20, round(rate * args.step_seconds)), rate)], talk_ms=args.talk_ms,
                    duration_ms=args.caller_ms)
                line = _compact(m["step"]) | {"shed_by_cti": m["cti_counters"]["calls_shed"],
                                              "bridges_failed": m["cti_counters"]["bridges_failed"],
                                              "agent_answer_to_bridged_ms": {
                                                  k: m["step"]["agent_answer_to_bridged_ms"][k]
                                                  for k in ("p50", "p99", "max")},
                                              "drain_timeouts": m["drain_timeouts"], "cpu_cores": m["cpu_cores"]}
                cores = line["cpu_cores"]
                say(f"  bridged {line['bridged']}/{line['calls']} ({line['connected_pct']} %), p99 "
                    f"{line['latency_ms']['p99']} ms, phones hung up before the bridge "
                    f"{line['dropped']['agent_hung_up_before_bridged']}; cores: nodes {cores.get('node-a')}, "
                    f"{cores.get('node-b')}, kamailio {cores.get('kamailio')}, cti {cores['cti_process']}, "
                    f"sipp {cores['sipp']}, other {cores['other']}")
                if line["sustained"]:
                    break
                failed.append(line)
            steps.append(line | {"failed_attempts": [f for f in failed if f is not line]})
            if not line["sustained"]:
                say(f"  {rate:g}/s not sustained" + (": taken as C all the same (--capacity)" if args.capacity else ""))
                if not args.capacity:
                    break
            capacity = rate
        if capacity == 0.0:
            raise RuntimeError(f"the cluster sustained none of the steps {args.steps}: nothing to overload")
        edge_rate = args.edge_rate or max(1, round(capacity))
        say(f"capacity C = {capacity:g} calls/s; the edge's bound {edge_rate}/s")
        out["capacity"].update({
            "calls_per_s": capacity,
            # False: every step sustained, so C is only the top of --steps (a lower bound); None: C given.
            "limit_found": None if args.capacity else not steps[-1]["sustained"]})
        out.update({"edge_rate": edge_rate, "edge_message_rate": args.edge_message_rate,
                    "recovery_rate": args.recovery_rate or capacity})
        out["variants"] = [await _variant_or_error(bench, args, v, capacity, edge_rate)
                           for v in args.cluster_variants]
        out["observer"] = {"event_filter": bench.observer.filtered, "bridges_by_node": bench.observer.bridged_on()}
    except Exception as exc:  # what was measured is still printed, with what ended the run
        say(f"the run failed: {exc!r}\n{traceback.format_exc()}")
        out["error"] = f"{type(exc).__name__}: {exc}"
        args.failed = True
    finally:
        if starting is not None and not starting.done():
            await asyncio.wait([starting])
        if bench is not None:
            await bench.tear_down_cluster(tmp)
        else:
            if private:
                await asyncio.to_thread(stop_cluster, cluster)
            shutil.rmtree(tmp, ignore_errors=True)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.cluster:
        return await run_cluster(args)
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
    p.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")], default=None,
                   help="calls per second of the capacity steps (default: 20,30,40,50,60,80; with --cluster "
                        "20,40,...,160)")
    p.add_argument("--step-seconds", type=float, default=15)
    p.add_argument("--agents", type=int, default=None, help="SIPp agents (7001..; default 50, with --cluster 198)")
    p.add_argument("--ring-ms", type=int, default=100)
    p.add_argument("--talk-ms", type=int, default=None,
                   help="agents hang up this long after answering (default 200, with --cluster 1000)")
    p.add_argument("--caller-ms", type=int, default=10000, help="how long a caller waits once answered")
    p.add_argument("--seconds", type=float, default=60, help="the overload window")
    p.add_argument("--recovery-seconds", type=float, default=20)
    p.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    p.add_argument("--quick", action="store_true", help="smoke run: steps 5,10 of 6 s, windows of 10 and 6 s")
    cluster = p.add_argument_group("the cluster (--cluster): callers through Kamailio, shed at the edge")
    cluster.add_argument("--cluster", action="store_true",
                         help="measure the cluster (two media nodes behind Kamailio) instead of one Asterisk")
    cluster.add_argument("--cluster-dir", type=Path, default=None,
                         help="use the cluster running there (scripts/cluster start) instead of a private one")
    cluster.add_argument("--cluster-port-offset", type=int, default=700,
                         help="CTI_CLUSTER_PORT_OFFSET of the private cluster (clear of a developer's and the tests')")
    cluster.add_argument("--capacity", type=float, default=0,
                         help="take C as given (one step at it, to show it sustained) instead of the steps' search")
    cluster.add_argument("--retries", type=int, default=1,
                         help="run a capacity step that failed again this many times before it counts as the limit")
    cluster.add_argument("--recovery-rate", type=float, default=0,
                         help="callers a second after the overload (default C: back to the sustainable rate)")
    cluster.add_argument("--edge-rate", type=int, default=0, help="the edge's bound in the edge variant (default C)")
    cluster.add_argument("--edge-message-rate", type=int, default=2,
                         help="shed callers a second told why (CTI_CLUSTER_EDGE_MESSAGE_RATE)")
    cluster.add_argument("--cluster-variants", type=lambda s: s.split(","), default=list(CLUSTER_VARIANTS),
                         help="edge: Kamailio bounds new calls at the edge rate; none: no bound (the baseline)")
    cluster.add_argument("--agent-timer-slack-ms", type=float, default=20,
                         help="the agents' SIPp may wake this late (an idle SIPp wakes every ms: ~0.75 %% of a core "
                              "each; 20 ms cuts it about 8-fold; its pauses end up to this late); 0: SIPp as is")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if any(v not in VARIANTS for v in args.variants):
        p.error(f"--variants: each one of {', '.join(VARIANTS)}")
    if any(v not in CLUSTER_VARIANTS for v in args.cluster_variants):
        p.error(f"--cluster-variants: each one of {', '.join(CLUSTER_VARIANTS)}")
    for key, value in (CLUSTER_DEFAULTS if args.cluster else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not args.cluster:
        args.agent_timer_slack_ms = 0  # the in-process run as measured in its run 1
    if args.quick:
        args.steps, args.step_seconds, args.seconds, args.recovery_seconds = [5.0, 10.0], 6.0, 10.0, 6.0
    args.loadavg_at_start = os.getloadavg()[0]
    args.failed = False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rc = run_and_print(args, run)
        return 1 if args.failed else rc  # --cluster: the JSON printed all the same, its "error" says why
    except (KeyboardInterrupt, asyncio.CancelledError):  # SIGINT, or SIGTERM/SIGHUP in --cluster: cleaned up
        say("interrupted: what the run started is stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
