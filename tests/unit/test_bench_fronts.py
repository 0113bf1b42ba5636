"""bench/dashboard.py --cluster's pure helpers: one clock across processes, the dashboards spread over the front ends,
a controller's counters, and a phase's latencies by front end."""

from __future__ import annotations

import json
import math
import resource
import time
from array import array
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bench._fronts import clock_offset, counters, open_files_for, per_target, wall_to_pc
from bench.dashboard import NAN, Change, Client, Verifier, analyse_fronts, grid_difference


def test_a_wall_clock_stamp_lands_on_perf_counter_where_it_was_taken() -> None:
    offset = clock_offset()
    before = time.perf_counter()
    stamp = datetime.now(UTC).isoformat()
    after = time.perf_counter()
    # The two clocks read a few microseconds apart; the stamp keeps microseconds.
    assert before - 0.001 <= wall_to_pc(stamp, offset) <= after + 0.001


def test_a_stamp_in_another_zone_is_the_same_instant() -> None:
    at = datetime(2026, 12, 7, 12, 0, 0, 250_000, tzinfo=UTC)
    jakarta = at.astimezone(timezone(timedelta(hours=7))).isoformat()
    assert wall_to_pc(jakarta, 100.0) == pytest.approx(at.timestamp() - 100.0, abs=1e-6)


def test_a_stamp_without_its_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="without its zone"):
        wall_to_pc("2026-12-07T12:00:00", 0.0)


def test_dashboards_are_spread_over_the_front_ends_in_turn() -> None:
    assert per_target(5, ["a", "b"]) == {"a": 3, "b": 2}
    assert per_target(5000, ["a", "b"]) == {"a": 2500, "b": 2500}
    assert per_target(1, ["a", "b"]) == {"a": 1, "b": 0}
    assert per_target(7, ["h"]) == {"h": 7}


def test_counters_read_from_prometheus_text() -> None:
    text = ("# HELP cti_calls_arrived_total Calls\n# TYPE cti_calls_arrived_total counter\n"
            "cti_calls_arrived_total 42\ncti_calls_bridged_total 40\ncti_calls_live{queue=\"care\"} 3\n"
            "cti_offers_failed_total 1\n")
    assert counters(text, ("calls_arrived", "calls_bridged", "offers_failed", "calls_shed")) == {
        "calls_arrived": 42.0, "calls_bridged": 40.0, "offers_failed": 1.0, "calls_shed": 0.0}


def _client(idx: int, topic: str = "dashboard:all") -> Client:
    return Client(idx, topic, None)


def _change(idx: int, t_request: float, t_applied: float, t_answer: float, recv: list[float]) -> Change:
    change = Change(idx, "main", "bprobe-1", t_request=t_request, t_applied=t_applied, t_answer=t_answer)
    change.recv = array("d", recv)
    return change


def test_latency_counts_every_pair_by_front_end_and_misses_apart() -> None:
    clients = [_client(0), _client(1), _client(2), _client(3, "dashboard:scope")]
    urls = ["http://f1", "http://f2"]
    changes = [
        _change(0, 10.000, 10.002, 10.004, [10.012, 10.022, 10.032, 10.042]),
        _change(1, 20.000, 20.001, 20.003, [20.011, NAN, 20.021, 20.051]),
    ]
    out = analyse_fronts(changes, clients, urls)
    assert out["pairs"] == 8 and out["frames_missed"] == 1
    assert out["latency_ms"]["n"] == 7
    assert out["latency_ms"]["max"] == pytest.approx(50.0)
    front1, front2 = out["per_front_end"]["http://f1"], out["per_front_end"]["http://f2"]
    assert (front1["dashboards"], front2["dashboards"]) == (2, 2)  # clients 0, 2 on f1; 1, 3 on f2
    assert (front1["frames_missed"], front2["frames_missed"]) == (0, 1)
    assert front1["latency_ms"]["max"] == pytest.approx(30.0)
    assert out["latency_ms_by_topic"]["dashboard:scope"]["n"] == 2
    # From the request's send time: never shorter than from the controller's stamp.
    assert out["latency_ms_from_request_sent"]["max"] == pytest.approx(51.0)
    assert out["slowest_dashboard_per_change_ms"]["max"] == pytest.approx(50.0)
    assert out["t0_outside_its_request"] == 0


def test_a_stamp_outside_its_request_is_counted() -> None:
    changes = [_change(0, 10.0, 9.5, 10.01, [10.02])]  # applied before it was asked for: the clocks disagree
    out = analyse_fronts(changes, [_client(0)], ["http://f1"])
    assert out["t0_outside_its_request"] == 1
    assert not math.isnan(out["latency_ms"]["p99"])


def test_a_grid_difference_names_the_agent_and_the_field() -> None:
    page = [{"agent_id": "a", "state": "ready", "call_id": None}, {"agent_id": "b", "state": "ready"}]
    frame = [{"agent_id": "a", "state": "busy", "call_id": "c1"}, {"agent_id": "c", "state": "ready"}]
    assert grid_difference(page, frame, most=5) == ("a.call_id None->c1; a.state ready->busy; b only on the page; "
                                                    "c only in the frame")
    assert grid_difference(page, frame) == "a.call_id None->c1; a.state ready->busy; 2 more"


def _frame(seq: int, kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"seq": seq, "type": kind, "data": data})


def test_a_full_frame_ahead_of_the_live_frames_is_told_late_or_not_sent() -> None:
    verifier, client = Verifier(), _client(0)
    ringing = {"agent_id": "a", "team": "t", "state": "ringing", "reason": None, "since": "1"}
    on_call = {**ringing, "state": "on_call", "since": "2"}
    other = {**ringing, "agent_id": "b"}
    other_ready = {**other, "state": "ready", "since": "3"}
    view = {"agents": [ringing, other], "windows": {}, "series": []}
    verifier(client, _frame(1, "snapshot", view))
    verifier(client, _frame(2, "stats", {**view, "agents": [on_call, other_ready]}))  # both ahead of the page
    verifier(client, _frame(3, "live", {"at": "x", "agents": [on_call]}))  # a's comes, after its full frame
    verifier(client, _frame(4, "stats", {**view, "agents": [on_call, other_ready]}))  # b's never came
    dump = verifier.dump()
    assert dump["checks"] == 2 and len(dump["disagreements"]) == 1
    assert dump["ahead"] == {"grid_entries_ahead_of_the_live_frames": 2, "live_frame_came_later": 1,
                             "no_live_frame_by_the_next_full_frame": 1}


def test_the_open_file_limit_is_raised_for_the_dashboards_not_lowered() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        assert open_files_for(10) == soft  # already enough: left as it is
        want = min(soft + 100, hard) if hard != resource.RLIM_INFINITY else soft + 100
        assert open_files_for((want - 1024) // 2) >= min(want - 1, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
