"""Soak benchmark: ``cti serve`` as its own process under a steady call rate for a long time: nothing leaked in
Asterisk, every call recorded, and the controller's memory levelling off.

Run from the repository root inside the venv (it queues for the Asterisk root while a test session holds it)::

    nice -n 19 python bench/soak.py                      # 90 minutes at 5 calls/s, the first hour the warm-up
    nice -n 19 python bench/soak.py --minutes 10 --warmup-minutes 3   # a shorter run
    nice -n 19 python bench/soak.py --quick              # smoke run: 2 minutes at 2 calls/s

Everything runs as tests/e2e/test_kill_restart.py runs it, with the e2e harness (tests/e2e/controllers.py): the
repository's Asterisk root under the lock the tests take, one controller as its own process (``python -m cti serve``,
configured only through its environment, a fresh SQLite database and Redis prefix), SIPp agents' phones (ring
``--ring-ms``, then hang up after ``--talk-ms``) and one SIPp caller process at ``--rate`` callers a second who stay
until their agent hangs up. Asterisk's own account of every channel (an ARI application subscribed to all events)
says which callers were bridged with an agent.

The controller's resident memory (``VmRSS`` of its process) is sampled every ``--sample-seconds``. Warm-up: the
first ``--warmup-minutes`` (caches fill, the 15- and 60-minute statistics windows fill, the allocator settles).

Prints one JSON object as the last line of stdout; progress on stderr. Its keys:

- ``calls``: callers placed; ``bridged``: of them, bridged with an agent (Asterisk's account); ``rows``: interaction
  rows in cti's database, by ``outcome/end_reason``; ``every_call_recorded``: one row per caller placed;
- ``leaked_channels``, ``leaked_bridges``: what is left in Asterisk once every call has ended (target: 0);
- ``rss_mb_after_warmup``, ``rss_mb_end``, ``rss_growth_pct`` (end against the end of the warm-up; target: < 5 %),
  ``rss_slope_mb_per_hour`` (least squares over the samples after the warm-up: levelling off shows as a slope
  near 0), ``rss_samples`` (minutes since the start, MB);
- ``redis_keys_after_warmup``, ``redis_keys_end``: the live picture's keys under the run's prefix (nothing grows per
  call: they follow the calls live, not the calls made);
- ``targets``: the issue's three (no leak, every call recorded, growth < 5 %) and whether each was met;
- ``machine``: cores and load averages; ``duration_s``; ``waited_for_asterisk_root_s``.

See docs/benchmarks.md (Soak).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from bench._harness import (  # noqa: E402
    acquire_root,
    bench_settings,
    drop_redis_keys,
    redis_url,
    run_and_print,
    start_asterisk,
)
from bench.failover import ASTERISK_ROOT, SERVICE  # noqa: E402
from cti.persistence import Database, InteractionRepository  # noqa: E402
from cti.sim import SippAgent, SippCaller  # noqa: E402
from tests.e2e.controllers import ChannelWatch, Server, free_tcp_port, leaks, log_in  # noqa: E402
from tests.support import eventually  # noqa: E402

GROWTH_TARGET_PCT = 5.0


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    """The process's resident memory now, from the kernel's own account."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) samples, in MB an hour."""
    if len(samples) < 2:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return None
    return round(sum((t - mean_t) * (m - mean_m) for t, m in samples) / var * 3600, 2)


async def redis_keys(url: str, prefix: str) -> int:
    client = aioredis.from_url(url)
    try:
        return sum([1 async for _ in client.scan_iter(match=f"{prefix}:*", count=1000)])
    finally:
        await client.aclose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    loadavg_start = os.getloadavg()[0]
    url, private_redis = redis_url()
    workdir = Path(tempfile.mkdtemp(prefix="cti-bench-soak-"))
    base = bench_settings(url, workdir, ASTERISK_ROOT, sim_agents=max(50, args.agents))
    settings = base.model_copy(update={"http_port": free_tcp_port()})
    root, lock_wait = await acquire_root(base, say)
    extensions = base.sim_agent_extensions()[:args.agents]
    calls = round(args.rate * args.minutes * 60)
    phones: list[SippAgent] = []
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    server = Server(settings, workdir / "cti.log")
    watch = ChannelWatch(settings, set(extensions))
    crowd: SippCaller | None = None
    samples: list[tuple[float, float]] = []
    out: dict[str, Any] = {"benchmark": "soak", "rate": args.rate, "minutes": args.minutes,
                           "warmup_minutes": args.warmup_minutes, "agents": args.agents, "talk_ms": args.talk_ms}
    try:
        await asyncio.to_thread(start_asterisk, root, base)
        phones = [SippAgent(base.sim_agent_port(ext), ring_ms=args.ring_ms, talk_ms=args.talk_ms)
                  for ext in extensions]
        await watch.start()
        server.start()
        await server.healthy(http, timeout=90)
        await log_in(http, server, extensions)
        assert server.proc is not None
        pid = server.proc.pid
        say(f"{calls} callers at {args.rate}/s for {args.minutes} min; cti is process {pid}")
        crowd = SippCaller(SERVICE, caller="02155000000", duration_ms=args.talk_ms + 60_000, calls=calls,
                           rate=args.rate, limit=max(50, round(args.rate * 30)))
        started = time.monotonic()
        warmup_end = started + args.warmup_minutes * 60
        end = started + args.minutes * 60
        while time.monotonic() < end:
            if server.proc.poll() is not None:
                raise RuntimeError(f"cti exited with {server.proc.returncode}:\n{server.tail()}")
            now = time.monotonic()
            samples.append((now - started, rss_mb(pid)))
            if now >= warmup_end and "rss_mb_after_warmup" not in out:
                out["rss_mb_after_warmup"] = round(samples[-1][1], 1)
                out["redis_keys_after_warmup"] = await redis_keys(settings.redis_url, settings.redis_prefix)
                say(f"warm-up over: cti at {out['rss_mb_after_warmup']} MB")
            elif len(samples) % max(1, round(60 / args.sample_seconds)) == 0:
                bridged = sum(leg.bridged_at is not None for leg in watch.caller_legs())
                say(f"{(now - started) / 60:.0f} min: cti at {samples[-1][1]:.1f} MB, {bridged} callers bridged")
            await asyncio.sleep(args.sample_seconds)
        samples.append((time.monotonic() - started, rss_mb(pid)))
        out["rss_mb_end"] = round(samples[-1][1], 1)
        out["redis_keys_end"] = await redis_keys(settings.redis_url, settings.redis_prefix)

        async def all_over() -> bool:
            legs = watch.caller_legs()
            return len(legs) >= calls and all(leg.ended_at is not None for leg in legs)

        await eventually(all_over, timeout=args.talk_ms / 1000 + 120, interval=1.0, message="every call to end")
        out["callers_exit"] = await asyncio.to_thread(crowd.wait, 60)
        await asyncio.sleep(2)  # the last rows' write (the journal flushes at most a second behind)
        out["exit_status"] = server.stop()
    finally:
        say("cleaning up")
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
        await watch.stop()
        channels, bridges = await leaks(settings)
        out["leaked_channels"], out["leaked_bridges"] = len(channels), len(bridges)
        if crowd is not None:
            crowd.stop()
        await http.close()
        for phone in phones:
            phone.stop()
        await asyncio.to_thread(root.stop)
        await drop_redis_keys(settings.redis_url, settings.redis_prefix)
        if private_redis is not None:
            private_redis.terminate()
            private_redis.wait(5)
    legs = watch.caller_legs()
    out["calls"] = calls
    out["bridged"] = sum(leg.bridged_at is not None for leg in legs)
    out["events_lost"] = watch.dropped
    async with Database(settings.database_url) as database:
        records = await InteractionRepository(database).list(limit=calls + 1000)
    out["rows"] = dict(Counter(f"{r.outcome}/{r.end_reason}" for r in records))
    out["every_call_recorded"] = len(records) == calls
    after = [(t, m) for t, m in samples if t >= args.warmup_minutes * 60]
    growth = None
    if out.get("rss_mb_after_warmup"):
        growth = round((out["rss_mb_end"] - out["rss_mb_after_warmup"]) / out["rss_mb_after_warmup"] * 100, 2)
    out["rss_growth_pct"] = growth
    out["rss_slope_mb_per_hour"] = slope_per_hour(after)
    out["rss_samples"] = [[round(t / 60, 2), round(m, 1)] for t, m in samples]
    out["targets"] = {
        "nothing_leaked": out["leaked_channels"] == 0 and out["leaked_bridges"] == 0,
        "every_call_recorded": out["every_call_recorded"],
        f"rss_growth_below_{GROWTH_TARGET_PCT:g}_pct": growth is not None and growth < GROWTH_TARGET_PCT,
    }
    out["machine"] = {"cpus": os.cpu_count(), "loadavg_at_start": loadavg_start, "loadavg_at_end": os.getloadavg()[0]}
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    if args.keep:
        out["logs"] = str(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rate", type=float, default=5.0, help="callers per second")
    p.add_argument("--minutes", type=float, default=90.0, help="how long callers arrive")
    p.add_argument("--warmup-minutes", type=float, default=60.0,
                   help="the first minutes, before memory is judged (the 60-minute statistics window fills)")
    p.add_argument("--agents", type=int, default=35, help="SIPp agents (7001..)")
    p.add_argument("--ring-ms", type=int, default=200, help="an agent's phone rings this long before answering")
    p.add_argument("--talk-ms", type=int, default=3000, help="an agent hangs up this long after answering")
    p.add_argument("--sample-seconds", type=float, default=10.0, help="cti's memory is read this often")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 minutes at 2/s, 1 minute's warm-up")
    p.add_argument("--keep", action="store_true", help="keep cti's log and database")
    p.add_argument("--verbose", action="store_true", help="the benchmark's own log at INFO on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.rate, args.minutes, args.warmup_minutes = 2.0, 2.0, 1.0
    if not 0 <= args.warmup_minutes < args.minutes:
        p.error("need 0 <= --warmup-minutes < --minutes")
    if args.rate * (args.ring_ms + args.talk_ms) / 1000 > args.agents * 0.8:
        p.error("too few agents for that rate and talk time: callers would queue without end")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
