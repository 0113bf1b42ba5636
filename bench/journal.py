"""Journal benchmark (issue 21's call path): what writing the live changes to the database costs cti's process, the
journal's batches (cti/services/_journal.py: what it collected since its last write, in two transactions, the
agents' state changes and the calls) against one transaction per record, as it wrote before, in the same run, on a
real SQLite file and a real PostgreSQL database. No Asterisk; no Redis (the live picture's write is the same in
both variants and is left out: a stub takes it).

Run from the repository root inside the venv::

    python bench/journal.py                 # 20, 80 and 200 calls/s, 1,000 calls a phase, SQLite and PostgreSQL
    python bench/journal.py --quick         # 300 calls at 20 and 200 calls/s

A call is what the journal meets on the call path: four snapshots of the call (waiting, ringing, connected, ended)
and four state changes of its agent (ringing, on a call, wrap-up, ready), a snapshot and a state change together,
half a second apart, callers arriving at ``rate`` a second (the calls' steps interleave as on a floor); the calls'
agents taken in turn from ``--agents`` (more at a rate where an agent would be reused before its last call ended).
Per phase (backend x variant x rate): the process's CPU seconds (user + system, all threads, ``getrusage``: SQLite's
own thread included; ``cpu_ms_per_call``) from the first put until every record is written, the wall time, the rows in
the database afterwards (every call and every state change: checked: ``complete``), how long after the last put the
last record was written (``behind_s``: a journal that cannot keep up falls further behind the longer the phase), and
the transactions (``transactions``: batches written together or records alone). The PostgreSQL server's own CPU is
not counted (another process). Progress on stderr; one JSON object is the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._harness import run_and_print  # noqa: E402
from cti.acd import Agent, AgentState, ContactCenter, WorkItem, WorkState  # noqa: E402
from cti.persistence import AgentRepository, Database, DeadLetterRepository, InteractionRepository  # noqa: E402
from cti.services import CenterView, Journal  # noqa: E402
from cti.services._journal import _Batch  # noqa: E402
from tests.support import create_postgres_database  # noqa: E402

VARIANTS = ("per_record", "batched")
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
STEP_S = 0.5


def say(message: str) -> None:
    print(f"[journal {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class NoLive:
    """The live picture's write (Redis), the same in both variants: not measured here."""

    dirty = False

    async def save(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> bool:
        return True


class CountingJournal(Journal):
    """The journal as it is, counting its transactions; ``per_record``: every record alone, as it wrote before."""

    def __init__(self, *args: Any, per_record: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_record = per_record
        self.transactions = 0

    async def _save_together(self, batch: _Batch) -> bool:
        if self.per_record:
            return False
        self.transactions += bool(batch.history) + bool(batch.calls)
        return await super()._save_together(batch)

    async def _save(self, record: Any) -> None:
        self.transactions += 1
        await super()._save(record)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def call_snapshots(n: int) -> list[WorkItem]:
    at = T0 + timedelta(seconds=n)
    base = {"call_id": f"bench-{n}", "channel_id": f"leg-{n}", "caller_number": "0215550123", "caller_name": "Budi",
            "service_number": "1500100", "queue": "general", "arrived_at": at}
    return [
        WorkItem(**base, state=WorkState.WAITING),
        WorkItem(**base, state=WorkState.RINGING, agent_id=f"a{n}", offered_at=at),
        WorkItem(**base, state=WorkState.CONNECTED, agent_id=f"a{n}", offered_at=at, answered_at=at),
        WorkItem(**base, state=WorkState.ENDED, agent_id=f"a{n}", offered_at=at, answered_at=at,
                 ended_at=at + timedelta(seconds=30)),
    ]


def agent_changes(n: int, agents: int) -> list[Agent]:
    agent_id, at = f"agent-{n % agents}", T0 + timedelta(seconds=n)
    return [Agent(agent_id, agent_id, extension="7001", state=state, state_since=at + timedelta(seconds=k))
            for k, state in enumerate((AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.READY))]


async def phase(url: str, variant: str, rate: float, calls: int, agents: int) -> dict[str, Any]:
    db = Database(url)
    await db.upgrade()
    interactions = InteractionRepository(db)
    journal = CountingJournal(NoLive(), interactions, AgentRepository(db),  # type: ignore[arg-type]
                              CenterView(ContactCenter(), lambda: T0), dead_letters=DeadLetterRepository(db),
                              per_record=variant == "per_record")
    journal.start()
    try:
        started_cpu, started = cpu(), time.monotonic()
        # A call's four steps STEP_S apart, the calls' steps interleaved as on a real floor.
        steps = sorted((n / rate + k * STEP_S, n, k) for n in range(calls) for k in range(4))
        for at, n, k in steps:
            if (wait := started + at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            journal._put(agent_changes(n, agents)[k])
            journal.record(call_snapshots(n)[k])
        await journal.flush(timeout=600)
        used, wall = cpu() - started_cpu, time.monotonic() - started
        rows = len(await interactions.list(limit=calls + 10))
        states = len(await AgentRepository(db).states_between(T0 - timedelta(days=1), T0 + timedelta(days=30)))
    finally:
        await journal.close()
        await db.close()
    return {"variant": variant, "rate": rate, "calls": calls, "agents": agents, "cpu_s": round(used, 3),
            "cpu_ms_per_call": round(1000 * used / calls, 3), "wall_s": round(wall, 2),
            "behind_s": round(wall - (calls - 1) / rate - 3 * STEP_S, 3), "transactions": journal.transactions,
            "rows": rows, "state_rows": states, "complete": rows == calls and states == 4 * calls}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    backends = [b for b in ("sqlite", "postgresql") if b in args.backends]
    for backend in backends:
        for rate in args.rates:
            for variant in VARIANTS:
                with tempfile.TemporaryDirectory(prefix="cti-bench-journal-") as tmp:
                    if backend == "sqlite":
                        url, drop = f"sqlite+aiosqlite:///{tmp}/cti.db", None
                    else:
                        url, drop = await create_postgres_database()
                    try:
                        say(f"{backend}, {variant}, {args.calls} calls at {rate:g}/s")
                        # An agent's next call after its last one's four steps: else the journal rightly keeps one
                        # of two equal state changes in a row, and the count of state rows says less.
                        agents = max(args.agents, math.ceil(rate * 4 * STEP_S))
                        result = await phase(url, variant, rate, args.calls, agents)
                    finally:
                        if drop is not None:
                            await drop()
                result["backend"] = backend
                say(f"  {result['cpu_ms_per_call']} ms of CPU a call, {result['transactions']} transactions, "
                    f"{result['behind_s']} s behind at the end, complete: {result['complete']}")
                results.append(result)
    ratios = {}
    for backend in backends:
        for rate in args.rates:
            pair = {r["variant"]: r for r in results if r["backend"] == backend and r["rate"] == rate}
            ratios[f"{backend}@{rate:g}"] = round(pair["batched"]["cpu_s"] / pair["per_record"]["cpu_s"], 3)
    return {"benchmark": "journal", "calls": args.calls, "agents": args.agents, "phases": results,
            "batched_cpu_vs_per_record": ratios}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[20.0, 80.0, 200.0])
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgresql"])
    p.add_argument("--quick", action="store_true", help="300 calls at 20 and 200 calls/s")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.calls, args.rates = 300, [20.0, 200.0]
    return run_and_print(args, run)


if __name__ == "__main__":
    sys.exit(main())
