"""Failover benchmark: the leading controller ``kill -9``ed under load, a standby taking over, against a single
controller ``kill -9``ed and started again.

Run from the repository root inside the venv (it queues for the Asterisk root while a test session holds it)::

    nice -n 19 python bench/failover.py                 # 10 runs of each, about 6 minutes on 2 cores
    nice -n 19 python bench/failover.py --runs 2        # a smoke run
    nice -n 19 python bench/failover.py --no-baseline   # the standby runs only

Everything runs as tests/e2e/test_standby_takeover.py runs it, with that test's harness
(tests/e2e/controllers.py): the repository's Asterisk root, configured and started as the e2e session starts it
under the lock the tests take; controllers as their own processes (``python -m cti serve``) configured only
through their environment, each run with a fresh SQLite database and Redis prefix; SIPp agents' phones (ring
200 ms, then talk until hung up) and one SIPp caller process. Asterisk's own account of every channel (an ARI
application subscribed to all events) says when a caller is bridged with an agent: the caller's leg entering a
call's bridge (``cti-call-*``), never a SIP success.

One run, in either mode:

1. The controllers start: ``standby``: two ``cti serve --standby`` (lease ``--lease-seconds``), one leading;
   ``restart``: one ``cti serve`` (no lease). ``--agents`` agents log in, ready.
2. ``--agents + --waiting`` callers dial the service number. Once every agent talks and the rest wait in the
   queue (the leader's API says so), and the leader has just written its sight of Asterisk, the leader is
   killed (SIGKILL). At once ``--freed`` of the agents hang up (through ARI, as their phones would), so free
   agents await the waiting callers while nobody leads.
3. ``standby``: the other controller takes the lease when it lapses and starts the contact center;
   ``restart``: the same controller is started again ``--restart-after`` seconds after the kill.
4. The run waits for every waiting caller to be bridged (at most ``--serve-timeout`` seconds after the kill),
   then every agent hangs up (through ARI), which ends every call, and the controller stops cleanly.

Prints one JSON object as the last line of stdout; progress on stderr. Its keys:

- ``recovery_s_p50``, ``recovery_s_p99``: seconds from the kill to the first caller who was waiting at the kill
  being bridged with an agent (by the new leader), over the standby runs; nearest rank, so with 10 runs p99 is
  the slowest run.
- ``dropped``: callers dropped over all standby runs: never bridged with an agent (hung up unserved, or still
  unserved ``--serve-timeout`` s after the kill), or bridged and their leg ended before their agent's (cut off:
  a call ends by its agent hanging up here, so its caller's leg ends after the agent's).
- ``runs``: standby runs measured (those that failed are in ``failed``); ``lease_seconds``: the lease used.
- ``term_s_p50``/``_p99``: kill → the new term's lease seen in Redis (read every 20 ms); ``healthz_s_p50``/``_p99``:
  kill → the new leader's ``/healthz`` answering 200 (polled every 0.1 s); ``served_all_s_p50``/``_p99``: kill →
  the last waiting caller bridged.
- ``per_run``: each standby run: those seconds, ``waiting``/``talking`` callers at the kill, ``dropped`` (and
  ``never_bridged``, ``cut_off``), ``healthz`` (the new leader's answer: role and term, ``term_matches_lease``),
  ``rows`` (the interaction rows by outcome/end reason: every call ``answered/agent_hangup`` when nothing went
  wrong), ``left_in_asterisk`` (channels, bridges left at the end), the controllers' exit statuses.
- ``baseline``: the same for the ``restart`` runs (``recovery_s_p50``, ``recovery_s_p99``, ``dropped``, ``runs``,
  ``per_run``, ...; no term), the way to recover without a standby. Runs alternate standby, restart, standby, ...
  so load on the machine falls on both alike.
- ``machine``: cores and the load average at the start and the end; ``duration_s``, ``waited_for_asterisk_root_s``.

See docs/benchmarks.md (Failover) for the method and the results.
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
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import pytest  # noqa: E402

from bench._harness import (  # noqa: E402
    acquire_root,
    bench_settings,
    drop_redis_keys,
    percentile,
    redis_url,
    run_and_print,
    start_asterisk,
)
from cti.persistence import Database, InteractionRepository  # noqa: E402
from cti.settings import Settings  # noqa: E402
from cti.sim import SippAgent, SippCaller  # noqa: E402
from tests.e2e.controllers import (  # noqa: E402
    ChannelWatch,
    LeaseLog,
    Leg,
    Server,
    api,
    free_tcp_port,
    hang_up,
    leaks,
    log_in,
    sight_written,
    standing_by,
)
from tests.support import eventually  # noqa: E402

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")  # the e2e session's (tests/conftest.py)
SERVICE = "1500100"  # queue "general"
MODES = ("standby", "restart")
# A run's own failures (a controller that exits, a wait that times out) are reported and the next run goes on.
RUN_FAILURES = (Exception, pytest.fail.Exception)


def say(message: str) -> None:
    print(f"[failover {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else round((later - earlier).total_seconds(), 3)


@dataclass
class Bench:
    args: argparse.Namespace
    base: Settings
    extensions: list[str]
    workdir: Path
    http: aiohttp.ClientSession

    def settings(self, mode: str, run_dir: Path) -> Settings:
        return self.base.model_copy(update={
            "database_url": f"sqlite+aiosqlite:///{run_dir}/cti.db",
            "redis_prefix": f"cti-failover-{uuid.uuid4().hex[:8]}",
            "http_port": free_tcp_port(),
            "standby": mode == "standby",
            "lease_seconds": self.args.lease_seconds,
        })

    async def run(self, mode: str, n: int) -> dict[str, Any]:
        run_dir = self.workdir / f"{n:02}-{mode}"
        run_dir.mkdir()
        settings = self.settings(mode, run_dir)
        args, extensions = self.args, self.extensions
        freed = extensions[:args.freed]
        callers = len(extensions) + args.waiting
        watch = ChannelWatch(settings, set(extensions))
        lease = LeaseLog(settings)
        standby_args = ("--standby",) if mode == "standby" else ()
        first = Server(settings, run_dir / "first.log", args=standby_args)
        # Restart: the same process started again (same settings, port and database), as a supervisor would.
        second = (Server(settings.model_copy(update={"http_port": free_tcp_port()}), run_dir / "second.log",
                         args=standby_args) if mode == "standby" else first)
        crowd: SippCaller | None = None
        out: dict[str, Any] = {"mode": mode, "run": n}
        try:
            await watch.start()
            lease.start()
            first.start()
            await first.healthy(self.http, timeout=90)
            if mode == "standby":
                second.start()
            await log_in(self.http, first, extensions)
            if mode == "standby":
                await standing_by(second)
            before = await self.health(first)
            crowd = SippCaller(SERVICE, caller=f"02155{n:05}", duration_ms=args.caller_ms, calls=callers,
                               rate=args.rate, limit=callers)
            await eventually(lambda: len(watch.caller_legs()) == callers and sum(
                leg.bridged_at is not None for leg in watch.caller_legs()) == len(extensions), timeout=60,
                interval=0.1, message="every agent talking")

            async def queued() -> bool:
                queue = await api(self.http, first, "GET", "/api/queues/general")
                return (queue["calls_connected"], queue["calls_waiting"]) == (len(extensions), args.waiting)

            await eventually(queued, timeout=30, interval=0.1, message="the rest waiting in the queue")
            await sight_written(settings)
            waiting = [leg.channel_id for leg in watch.caller_legs() if leg.bridged_at is None]
            out.update({"talking_at_kill": callers - len(waiting), "waiting_at_kill": len(waiting)})

            killed = datetime.now(UTC)
            first.kill()
            await hang_up(settings, [c for ext in freed for c in watch.alive[ext]])  # while nobody leads
            if mode == "restart":
                await asyncio.sleep(max(0.0, args.restart_after - (datetime.now(UTC) - killed).total_seconds()))
                first.start()

            async def healthy() -> datetime:
                await second.healthy(self.http, timeout=60)
                return datetime.now(UTC)

            async def served() -> datetime | None:
                with contextlib.suppress(pytest.fail.Exception):  # unserved: counted as dropped below
                    await eventually(lambda: all(watch.legs[c].bridged_at for c in waiting),
                                     timeout=args.serve_timeout, interval=0.05, message="every waiting caller")
                return datetime.now(UTC)

            healthy_at, _ = await asyncio.gather(healthy(), served())
            after = await self.health(second)
            bridged = [watch.legs[c].bridged_at for c in waiting if watch.legs[c].bridged_at is not None]
            out.update({
                "recovery_s": seconds(min(bridged, default=None), killed),
                "served_all_s": seconds(max(bridged), killed) if len(bridged) == len(waiting) else None,
                "healthz_s": seconds(healthy_at, killed),
            })
            if mode == "standby":
                assert second.proc is not None
                term = next(((at, token) for at, pid, token in lease.terms if pid == second.proc.pid), None)
                out["term_s"] = seconds(term[0], killed) if term else None
                after["term_matches_lease"] = term is not None and after["term"] == term[1]
            out["healthz"] = {"before_kill": before, "after": after}

            # Every agent hangs up: every call ends, its caller's leg after the agent's.
            async def over() -> bool:
                await hang_up(settings, [c for ext in extensions for c in watch.alive[ext]])
                return all(leg.ended_at is not None for leg in watch.caller_legs())

            await eventually(over, timeout=30, interval=0.5, message="every call to end")
            out["callers_exit"] = await asyncio.to_thread(crowd.wait, 30)
            out["exit_status"] = second.stop()
        finally:
            for server in {id(first): first, id(second): second}.values():
                if server.proc is not None and server.proc.poll() is None:
                    server.kill()
            await watch.stop()
            await lease.stop()
            channels, bridges = await leaks(settings)
            out["left_in_asterisk"] = {"channels": len(channels), "bridges": len(bridges)}
            await drop_redis_keys(settings.redis_url, settings.redis_prefix)
            if crowd is not None:
                crowd.stop()
        out |= self.dropped(watch.caller_legs(), watch.agent_legs())
        out["callers"] = callers
        out["events_lost"] = watch.dropped
        async with Database(settings.database_url) as database:
            records = await InteractionRepository(database).list(limit=10_000)
        out["rows"] = dict(Counter(f"{r.outcome}/{r.end_reason}" for r in records))
        return out

    async def health(self, server: Server) -> dict[str, Any]:
        async with self.http.get(f"{server.url}/healthz") as resp:
            body = await resp.json()
        return {"status": resp.status, "role": body.get("role"), "term": body.get("term")}

    @staticmethod
    def dropped(caller_legs: list[Leg], agent_legs: list[Leg]) -> dict[str, int]:
        """Asterisk's account: callers never bridged with an agent, and callers whose leg ended before the leg of
        the agent they were bridged with (cut off: here every call ends by its agent hanging up)."""
        agent_end = {leg.bridge_id: leg.ended_at for leg in agent_legs if leg.bridge_id is not None}
        never = sum(leg.bridged_at is None for leg in caller_legs)
        cut = 0
        for leg in caller_legs:
            ended = agent_end.get(leg.bridge_id) if leg.bridge_id is not None else None
            if leg.bridged_at is not None and (leg.ended_at is None or ended is None or leg.ended_at < ended):
                cut += 1
        return {"dropped": never + cut, "never_bridged": never, "cut_off": cut}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in results if "error" not in r]
    out: dict[str, Any] = {}
    for key in ("recovery_s", "term_s", "healthz_s", "served_all_s"):
        values = [r[key] for r in ok if r.get(key) is not None]
        if key in ("term_s",) and not values:
            continue
        out[f"{key}_p50"] = percentile(values, 50)
        out[f"{key}_p99"] = percentile(values, 99)
    out.update({"dropped": sum(r["dropped"] for r in ok), "runs": len(ok),
                "failed": [{"run": r["run"], "error": r["error"]} for r in results if "error" in r],
                "per_run": results})
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    loadavg_start = os.getloadavg()[0]
    url, private_redis = redis_url()
    workdir = Path(tempfile.mkdtemp(prefix="cti-bench-failover-"))
    base = bench_settings(url, workdir, ASTERISK_ROOT, sim_agents=max(50, args.agents))
    root, lock_wait = await acquire_root(base, say)
    extensions = base.sim_agent_extensions()[:args.agents]
    phones: list[SippAgent] = []
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    try:
        await asyncio.to_thread(start_asterisk, root, base)
        phones = [SippAgent(base.sim_agent_port(ext), ring_ms=200, talk_ms=0) for ext in extensions]
        bench = Bench(args, base, extensions, workdir, http)
        modes = ["standby", "restart"] if args.baseline else ["standby"]
        for n in range(args.runs):
            for mode in modes:
                say(f"run {n + 1}/{args.runs}, {mode}")
                try:
                    result = await bench.run(mode, n)
                except RUN_FAILURES as exc:
                    say(f"  failed: {type(exc).__name__}: {exc}")
                    result = {"mode": mode, "run": n, "error": f"{type(exc).__name__}: {str(exc)[:2000]}"}
                else:
                    say(f"  first waiting caller bridged {result['recovery_s']} s after the kill (term "
                        f"{result.get('term_s')} s, /healthz {result['healthz_s']} s), all "
                        f"{result['served_all_s']} s; dropped {result['dropped']}")
                results[mode].append(result)
    finally:
        say("cleaning up")
        await http.close()
        for phone in phones:
            phone.stop()
        await asyncio.to_thread(root.stop)
        if private_redis is not None:
            private_redis.terminate()
            private_redis.wait(5)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    standby = summarise(results["standby"])
    out: dict[str, Any] = {"benchmark": "failover", "lease_seconds": args.lease_seconds,
                           "recovery_s_p50": standby.pop("recovery_s_p50"),
                           "recovery_s_p99": standby.pop("recovery_s_p99"),
                           "dropped": standby.pop("dropped"), "runs": standby.pop("runs"), **standby}
    if args.baseline:
        out["baseline"] = {"mode": "restart", "restart_after_s": args.restart_after, **summarise(results["restart"])}
    out.update({
        "agents": args.agents, "freed": args.freed, "waiting": args.waiting, "rate": args.rate,
        "serve_timeout_s": args.serve_timeout,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": loadavg_start, "loadavg_at_end": os.getloadavg()[0]},
        "duration_s": round(time.monotonic() - t0, 1), "waited_for_asterisk_root_s": round(lock_wait, 1),
        "logs": str(workdir) if args.keep else None,
    })
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=int, default=10, help="runs of each mode")
    p.add_argument("--lease-seconds", type=float, default=3.0, help="CTI_LEASE_SECONDS of the standby runs")
    p.add_argument("--agents", type=int, default=20, help="SIPp agents (7001..), all talking at the kill")
    p.add_argument("--freed", type=int, default=10, help="agents who hang up just after the kill")
    p.add_argument("--waiting", type=int, default=10, help="callers waiting at the kill (at most --freed)")
    p.add_argument("--rate", type=float, default=10.0, help="callers per second as they arrive")
    p.add_argument("--caller-ms", type=int, default=120_000, help="how long a caller stays once answered")
    p.add_argument("--restart-after", type=float, default=1.0, help="restart runs: seconds from the kill to start")
    p.add_argument("--serve-timeout", type=float, default=60.0, help="seconds after the kill a caller may wait")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the restart runs")
    p.add_argument("--keep", action="store_true", help="keep the controllers' logs and databases")
    p.add_argument("--verbose", action="store_true", help="the benchmark's own log at INFO on stderr")
    args = p.parse_args(argv)
    if not 0 < args.waiting <= args.freed <= args.agents:
        p.error("need 0 < --waiting <= --freed <= --agents: each waiting caller is served by a freed agent")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
