"""Staffing benchmark: cti's Erlang C against pyworkforce on a day of intervals, and Erlang A per case.

Run from the repository root inside the venv::

    python bench/wfm.py            # default run (about a minute on 2 cores, plus the venv on the first run)
    python bench/wfm.py --quick    # smoke run (4 queues)

The cases (deterministic from ``--seed``): ``--queues`` queues (20) x 96 intervals of 15 minutes; each queue has
a peak rate of 300-2000 calls/hour and an AHT of 180-600 s, and its rate follows a two-peak day from 50 calls/hour
up to the peak. Targets: 80 % answered within 20 s, 85 % max occupancy, 30 % shrinkage.

* **Erlang C**: cti's vectorised :func:`cti.wfm.staff_table` (all intervals in one call), cti's scalar
  :func:`cti.wfm.staff` (a ``StaffingRequest`` built and staffed per interval) and pyworkforce's
  ``ErlangC(...).required_positions`` (built and called per interval) on every case, each timed in CPU time
  over the whole set, best of ``--repeat``: the machine is shared, and CPU time counts only this work.
  pyworkforce needs Python >= 3.12, so it runs in a separate virtualenv (``/var/cache/cti/bench-venv``,
  created with ``pip install pyworkforce`` when missing) as a worker process that gets the cases as JSON;
  its timing runs alternate with cti's, so that both see the same load. Reported: raw agent counts that
  agree, scheduled counts (after shrinkage) that agree, every case where either differs with the reason,
  the time ratios, the scalar ratio against its target (>= 10x, ``met``; set for the default day: the
  ``--quick`` day's four queues are mostly small ones, where the ratio is lower), and the ratios by queue size
  (starting counts below 29 agents, where cti runs the Erlang B recurrence, and from 29 on, where it uses
  the uniform expansion).
* **Erlang A**: cti's staffing with a mean patience of ``--patience`` seconds and a 5 % max abandonment on
  every case, timed per case (wall and CPU time; target: p99 <= 10 ms). On a sample of the lightest cases
  (pyworkforce's Erlang A is a uniformised Markov chain, seconds per case) the counts and service levels are
  compared too.

Progress goes to stderr; one JSON object is the last line of stdout. See docs/benchmarks.md, "Staffing".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/wfm.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from cti.wfm import StaffingRequest, erlang_a_metrics, staff, staff_table  # noqa: E402
from cti.wfm._special import TEMME_MIN_AGENTS  # noqa: E402

VENV = Path(os.environ.get("CTI_BENCH_VENV", "/var/cache/cti/bench-venv"))
PYTHON312 = os.environ.get("CTI_BENCH_PYTHON", "/root/.pyenv/versions/3.12.1/bin/python")
INTERVAL = 15
SERVICE_LEVEL, ANSWER_WITHIN, SHRINKAGE, MAX_OCCUPANCY, MAX_ABANDON = 0.8, 20.0, 0.3, 0.85, 0.05
TARGET_ERLANG_A_MS = 10.0
TARGET_SCALAR_SPEEDUP = 10.0  # issue 7: cti's scalar Erlang C at least 10x pyworkforce's

# Runs inside the pyworkforce venv as a worker: the job as the first JSON line on stdin, then one JSON command per
# line ({"op": "time", "indices": [...]} or {"op": "results"}), one JSON answer per line on stdout.
PYWORKFORCE_WORKER = r"""
import json, sys, time
import pyworkforce
from pyworkforce.queuing import ErlangA, ErlangC
job = json.loads(sys.stdin.readline())
cases = job["cases"]
def erlang_c(case):
    return ErlangC(transactions=case["calls"], aht=case["aht"] / 60, asa=job["answer_within"] / 60,
                   interval=job["interval"], shrinkage=job["shrinkage"]).required_positions(
        service_level=job["service_level"], max_occupancy=job["max_occupancy"])
def answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()
answer({"version": getattr(pyworkforce, "__version__", None), "python": sys.version.split()[0]})
for line in sys.stdin:
    command = json.loads(line)
    if command["op"] == "time":
        subset = [cases[i] for i in command["indices"]]
        start = time.process_time()
        for case in subset:
            erlang_c(case)
        answer(time.process_time() - start)
    elif command["op"] == "results":
        results = [erlang_c(case) for case in cases]
        out = {"erlang_c": [[r["raw_positions"], r["positions"], r["service_level"]] for r in results],
               "erlang_a": []}
        for index in job["erlang_a_sample"]:
            case = cases[index]
            model = ErlangA(transactions=case["calls"], aht=case["aht"] / 60, asa=job["answer_within"] / 60,
                            interval=job["interval"], patience=job["patience"] / 60, shrinkage=job["shrinkage"])
            start = time.perf_counter()
            r = model.required_positions(service_level=job["service_level"], max_occupancy=job["max_occupancy"],
                                         max_abandonment=job["max_abandon"])
            out["erlang_a"].append([index, r["raw_positions"], r["positions"], r["service_level"],
                                    r["abandonment_probability"], time.perf_counter() - start])
        answer(out)
"""


class Worker:
    """pyworkforce in its own venv, one JSON command and answer per line."""

    def __init__(self, python: Path, job: dict[str, Any]) -> None:
        self.process = subprocess.Popen([str(python), "-c", PYWORKFORCE_WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.hello = self.ask(job)

    def ask(self, command: dict[str, Any]) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise OSError(f"the pyworkforce worker exited ({self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def log(message: str) -> None:
    print(f"[wfm] {message}", file=sys.stderr, flush=True)


def make_cases(queues: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases = []
    for q in range(queues):
        peak = rng.uniform(300, 2000)
        aht = rng.randint(180, 600)
        for i in range(96):
            hour = i / 4
            # Two peaks (10:00 and 14:30) over a floor: 0 at night, 1 at the higher peak.
            shape = max(math.exp(-((hour - 10) / 2.2) ** 2), 0.8 * math.exp(-((hour - 14.5) / 2.0) ** 2))
            rate = 50 + (peak - 50) * shape
            cases.append({"queue": f"q{q:02d}", "interval": i, "calls": round(rate * INTERVAL / 60, 2), "aht": aht})
    return cases


def request(case: dict[str, Any], *, patience: float | None = None) -> StaffingRequest:
    return StaffingRequest(calls=case["calls"], interval_minutes=INTERVAL, aht_seconds=case["aht"],
                           service_level=SERVICE_LEVEL, answer_within_seconds=ANSWER_WITHIN,
                           max_occupancy=MAX_OCCUPANCY, shrinkage=SHRINKAGE, patience_seconds=patience,
                           max_abandon=MAX_ABANDON if patience is not None else None)


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import pyworkforce.queuing"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    log(f"creating {VENV} with pyworkforce (Python >= 3.12 from {PYTHON312})")
    subprocess.run([PYTHON312, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pyworkforce"], check=True)
    return python


def start_count(case: dict[str, Any]) -> int:
    """Where cti's search starts: the smallest stable count or the occupancy cap's, whichever is higher."""
    traffic = case["calls"] * case["aht"] / (INTERVAL * 60)
    return max(math.floor(traffic) + 1, math.ceil(traffic / MAX_OCCUPANCY))


def time_scalar(cases: list[dict[str, Any]], indices: list[int]) -> float:
    """CPU seconds to build a request and staff it, interval by interval, for ``cases[indices]``."""
    subset = [cases[i] for i in indices]
    start = time.process_time()
    for case in subset:
        staff(request(case))
    return time.process_time() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="timing runs of the whole day; the best counts")
    parser.add_argument("--patience", type=float, default=180.0, help="Erlang A mean patience, seconds")
    parser.add_argument("--erlang-a-sample", type=int, default=12, help="cases compared with pyworkforce's Erlang A")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="4 queues, 1 timing run, 4 Erlang A comparisons")
    args = parser.parse_args()
    if args.quick:
        args.queues, args.repeat, args.erlang_a_sample = 4, 1, 4
    cases = make_cases(args.queues, args.seed)
    log(f"{len(cases)} cases ({args.queues} queues x 96 intervals of {INTERVAL} min)")

    # The lightest cases of each queue, spread over the day, for pyworkforce's slow Erlang A.
    light = sorted(range(len(cases)), key=lambda i: (cases[i]["calls"] * cases[i]["aht"], i))
    sample = sorted(light[:: max(1, len(light) // 200)][: args.erlang_a_sample])
    worker: Worker | None = None
    pyworkforce: dict[str, Any] = {}
    try:
        job = {"cases": cases, "interval": INTERVAL, "answer_within": ANSWER_WITHIN,
               "service_level": SERVICE_LEVEL, "max_occupancy": MAX_OCCUPANCY, "shrinkage": SHRINKAGE,
               "patience": args.patience, "max_abandon": MAX_ABANDON, "erlang_a_sample": sample}
        worker = Worker(ensure_venv(), job)
        pyworkforce.update(worker.hello)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log(f"pyworkforce unavailable: {exc}")
        pyworkforce = {"error": f"{type(exc).__name__}: {exc}"}

    # -- Erlang C: cti scalar (a request built and staffed per interval), cti vectorised (one call for
    # everything), pyworkforce (an ErlangC built and asked per interval), taking turns so all see the same load.
    everything = list(range(len(cases)))
    sizes = {"small": [i for i in everything if start_count(cases[i]) < TEMME_MIN_AGENTS],
             "large": [i for i in everything if start_count(cases[i]) >= TEMME_MIN_AGENTS]}
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, math.inf), seconds)

    calls = [case["calls"] for case in cases]
    ahts = [float(case["aht"]) for case in cases]
    for _ in range(args.repeat):
        keep("scalar", time_scalar(cases, everything))
        start = time.process_time()
        table = staff_table(calls, ahts, interval_minutes=INTERVAL, service_level=SERVICE_LEVEL,
                            answer_within_seconds=ANSWER_WITHIN, max_occupancy=MAX_OCCUPANCY, shrinkage=SHRINKAGE)
        keep("table", time.process_time() - start)
        for size, indices in sizes.items():
            keep(f"scalar_{size}", time_scalar(cases, indices))
        if worker is not None:
            try:
                keep("pyworkforce", worker.ask({"op": "time", "indices": everything}))
                for size, indices in sizes.items():
                    keep(f"pyworkforce_{size}", worker.ask({"op": "time", "indices": indices}))
            except (OSError, ValueError) as exc:
                log(f"pyworkforce failed: {exc}")
                pyworkforce = {"error": f"{type(exc).__name__}: {exc}"}
                worker.close()
                worker = None
    scalar_seconds, table_seconds = best["scalar"], best["table"]
    ours = [staff(request(case)) for case in cases]
    table_agrees = (table.agents.tolist() == [r.agents for r in ours]
                    and table.scheduled_agents.tolist() == [r.scheduled_agents for r in ours])
    log(f"cti Erlang C: scalar {scalar_seconds * 1000:.1f} ms, table {table_seconds * 1000:.1f} ms for all cases")

    # -- cti, Erlang A, timed per case
    per_case_ms = []
    cpu_ms = []  # CPU time as well: on a shared machine the wall clock also counts other processes' turns
    erlang_a = []
    for case in cases:
        start, cpu = time.perf_counter(), time.thread_time()
        result = staff(request(case, patience=args.patience))
        cpu_ms.append((time.thread_time() - cpu) * 1000)
        per_case_ms.append((time.perf_counter() - start) * 1000)
        erlang_a.append(result)
    log(f"cti Erlang A: mean {statistics.fmean(per_case_ms):.2f} ms, max {max(per_case_ms):.2f} ms per case")
    below_traffic = sum(r.agents < math.ceil(r.traffic) for r in erlang_a)

    if worker is not None:
        try:
            log("pyworkforce: counts on every case, Erlang A on the sample (this is the slow part)")
            pyworkforce.update(worker.ask({"op": "results"}))
            pyworkforce["erlang_c_seconds"] = best["pyworkforce"]
        except (OSError, ValueError) as exc:
            log(f"pyworkforce failed: {exc}")
            pyworkforce = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            worker.close()

    result: dict[str, Any] = {
        "benchmark": "wfm",
        "cases": len(cases),
        "queues": args.queues,
        "intervals_per_queue": 96,
        "interval_minutes": INTERVAL,
        "targets": {"service_level": SERVICE_LEVEL, "answer_within_seconds": ANSWER_WITHIN,
                    "max_occupancy": MAX_OCCUPANCY, "shrinkage": SHRINKAGE},
        "traffic_erlangs": {"min": round(min(r.traffic for r in ours), 3),
                            "max": round(max(r.traffic for r in ours), 3)},
        # cti's staff() one interval at a time against pyworkforce, the target (filled in below).
        "scalar_speedup": {"ratio": None, "target": TARGET_SCALAR_SPEEDUP, "met": False},
        "scalar_speedup_by_size": {},
        "erlang_c": {"cti_table_seconds": round(table_seconds, 6),
                     "cti_table_us_per_case": round(table_seconds / len(cases) * 1e6, 2),
                     "cti_scalar_seconds": round(scalar_seconds, 6),
                     "cti_scalar_us_per_case": round(scalar_seconds / len(cases) * 1e6, 2),
                     "table_agrees_with_scalar": table_agrees,
                     "agents_total": sum(r.agents for r in ours),
                     "scheduled_total": sum(r.scheduled_agents for r in ours)},
        "erlang_a": {
            "patience_seconds": args.patience, "max_abandon": MAX_ABANDON,
            "ms_per_case": {"mean": round(statistics.fmean(per_case_ms), 3),
                            "p50": round(percentile(per_case_ms, 0.5), 3),
                            "p99": round(percentile(per_case_ms, 0.99), 3), "max": round(max(per_case_ms), 3)},
            "cpu_ms_per_case": {"mean": round(statistics.fmean(cpu_ms), 3), "p99": round(percentile(cpu_ms, 0.99), 3),
                                "max": round(max(cpu_ms), 3)},
            "target_ms": TARGET_ERLANG_A_MS,
            "within_target": percentile(per_case_ms, 0.99) <= TARGET_ERLANG_A_MS,
            "cases_below_ceil_traffic": below_traffic,
            "agents_total": sum(r.agents for r in erlang_a),
        },
        "environment": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                        "load_average": [round(x, 2) for x in os.getloadavg()]},
    }
    if "error" in pyworkforce:
        result["pyworkforce"] = pyworkforce
    else:
        theirs = pyworkforce["erlang_c"]
        raw_differ, scheduled_differ = [], []
        for i, (case, mine, (raw, positions, their_sl)) in enumerate(zip(cases, ours, theirs, strict=True)):
            exact = Fraction(mine.agents) / (1 - Fraction(repr(SHRINKAGE)))
            entry = {"case": i, "queue": case["queue"], "interval": case["interval"], "calls": case["calls"],
                     "aht": case["aht"], "traffic": round(mine.traffic, 6), "cti": [mine.agents, mine.scheduled_agents],
                     "pyworkforce": [raw, positions]}
            if raw != mine.agents:
                entry["cti_service_level"] = mine.metrics.service_level
                entry["pyworkforce_service_level"] = their_sl
                raw_differ.append(entry)
            elif positions != mine.scheduled_agents:
                entry["why"] = (f"{mine.agents} / 0.7 = {float(exact)!r} exactly; in floats "
                                f"{mine.agents / (1 - SHRINKAGE)!r}, rounded up to {positions}")
                scheduled_differ.append(entry)
        speedup = pyworkforce["erlang_c_seconds"] / scalar_seconds
        result["scalar_speedup"].update(ratio=round(speedup, 2), met=speedup >= TARGET_SCALAR_SPEEDUP)
        result["scalar_speedup_by_size"] = {
            size: {"cases": len(indices), "starting_agents": [min(start_count(cases[i]) for i in indices),
                                                              max(start_count(cases[i]) for i in indices)],
                   "cti_us_per_case": round(best[f"scalar_{size}"] / len(indices) * 1e6, 2),
                   "pyworkforce_us_per_case": round(best[f"pyworkforce_{size}"] / len(indices) * 1e6, 2),
                   "ratio": round(best[f"pyworkforce_{size}"] / best[f"scalar_{size}"], 2)}
            for size, indices in sizes.items() if indices}
        result["pyworkforce"] = {
            "version": pyworkforce.get("version"), "python": pyworkforce["python"],
            "erlang_c_seconds": round(pyworkforce["erlang_c_seconds"], 6),
            "erlang_c_us_per_case": round(pyworkforce["erlang_c_seconds"] / len(cases) * 1e6, 2),
            "speedup_table": round(pyworkforce["erlang_c_seconds"] / table_seconds, 1),
            "speedup_scalar": round(speedup, 2),
            "raw_identical": len(cases) - len(raw_differ),
            "raw_different": raw_differ,
            "scheduled_identical": len(cases) - len(raw_differ) - len(scheduled_differ),
            "scheduled_different_by_rounding": scheduled_differ,
        }
        compared = []
        for index, raw, _positions, their_sl, their_abandon, seconds in pyworkforce["erlang_a"]:
            mine = erlang_a[index]
            at_theirs = erlang_a_metrics(raw, mine.traffic, cases[index]["aht"], ANSWER_WITHIN, args.patience)
            compared.append({"case": index, "traffic": round(mine.traffic, 3), "cti_agents": mine.agents,
                             "pyworkforce_agents": raw, "pyworkforce_seconds": round(seconds, 3),
                             "service_level_difference": abs(at_theirs.service_level - their_sl),
                             "abandon_difference": abs((at_theirs.abandon_rate or 0) - their_abandon)})
        result["pyworkforce"]["erlang_a_sample"] = {
            "cases": len(compared),
            "agents_identical": sum(c["cti_agents"] == c["pyworkforce_agents"] for c in compared),
            "max_service_level_difference": max((c["service_level_difference"] for c in compared), default=None),
            "max_abandon_difference": max((c["abandon_difference"] for c in compared), default=None),
            "pyworkforce_ms_per_case_mean": (
                round(statistics.fmean(c["pyworkforce_seconds"] for c in compared) * 1000, 1) if compared else None),
            "details": compared,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
