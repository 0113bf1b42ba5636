"""``cti wfm``: staff, forecast and schedule from the command line (text and JSON output)."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cti.cli import main
from cti.wfm import SyntheticPattern, synthetic_history

STAFF = ["wfm", "staff", "--calls", "100", "--interval-minutes", "30", "--aht", "180", "--service-level", "0.8",
         "--answer-within", "20"]


def test_staff_prints_the_ground_truth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*STAFF, "--shrinkage", "0.3", "--max-occupancy", "0.85"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "traffic        10.00 Erlangs (Erlang C)",
        "agents         14 on the phones, 20 scheduled (30% shrinkage)",
        "service level  88.84% answered within 20 s (target 80%)",
        "P(wait)        0.1741",
        "ASA            7.84 s",
        "occupancy      71.4%",
        "limited by     service_level",
    ]


def test_staff_json_and_erlang_a(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*STAFF, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["agents"], body["scheduled_agents"], round(body["wait_probability"], 4)) == (14, 14, 0.1741)
    assert main(["wfm", "staff", "--calls", "100", "--aht", "180", "--patience", "30", "--max-abandon", "0.3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "traffic        10.00 Erlangs (Erlang A, mean patience 30 s)"
    assert lines[1] == "agents         8 on the phones"
    assert lines[-2] == "abandoned      29.68%"


def test_staff_refuses_bad_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*STAFF, "--max-abandon", "0.05"]) == 2
    assert capsys.readouterr().err == (
        "cti: max_abandon needs patience_seconds (Erlang A): Erlang C callers never abandon\n")


def test_forecast_from_a_csv_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = datetime(2024, 4, 1, tzinfo=timezone(timedelta(hours=7)))
    history = synthetic_history(SyntheticPattern(calls_per_day=200), queue="sales", start=start, days=21, seed=2)
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["queue", "arrived_at", "handle_seconds"])
        for s in history:
            writer.writerow([s.queue, s.arrived_at.isoformat(), "" if s.handle_seconds is None else s.handle_seconds])
    args = ["wfm", "forecast", "--input", str(path), "--interval-minutes", "60", "--horizon-days", "1",
            "--holdout-days", "7", "--timezone", "Asia/Jakarta"]
    assert main([*args, "--service-level", "0.8", "--shrinkage", "0.3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"queue sales: {len(history)} calls over 21 days; model ")
    assert lines[4].split() == ["interval", "start", "calls", "AHT", "s", "agents", "sched."]
    assert len(lines) == 5 + 24
    assert lines[5].startswith("2024-04-22T00:00:00+07:00")
    assert main([*args, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["queue"], body["history_days"], len(body["intervals"])) == ("sales", 21, 24)
    assert {b["model"] for b in body["backtest"]} == {"seasonal_naive", "holt_winters", "daily_profile"}
    assert "agents" not in body["intervals"][10]
    missing = tmp_path / "nope.csv"
    assert main(["wfm", "forecast", "--input", str(missing)]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_schedule_from_a_json_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = {
        "name": "monday", "start": "2024-04-01T00:00:00+07:00", "interval_minutes": 60,
        "requirements": {"sales": [0] * 8 + [1] * 8 + [0] * 8},
        "patterns": [{"name": "day8", "minutes": 480, "starts": [480]}],
        "agents": [{"agent_id": "ani", "skills": ["sales"]}, {"agent_id": "budi", "skills": ["sales"]}],
    }
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(problem))
    assert main(["wfm", "schedule", "--input", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1 shifts, optimal, weighted under/over-staffing 0"
    assert lines[1].split()[1:] == ["2024-04-01", "day8", "08:00-16:00", "sales"]
    assert lines[2].split() == ["interval", "start", "skill", "required", "scheduled"]
    assert lines[3 + 8].split() == ["2024-04-01T08:00:00+07:00", "sales", "1", "1"]
    assert main(["wfm", "schedule", "--input", str(path), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["schedule_id"], body["status"], len(body["shifts"]), len(body["coverage"])) == (None, "optimal", 1, 24)
    path.write_text(json.dumps({**problem, "interval_minutes": 7}))
    assert main(["wfm", "schedule", "--input", str(path)]) == 2
    assert "interval_minutes" in capsys.readouterr().err

