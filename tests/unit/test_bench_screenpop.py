"""bench/screenpop.py --cluster's pure helpers: the agents' ids, the leader's offers read from its interaction rows,
a phase's pops matched with them (t0 the pop's own ``offered_at``), and the warnings in a controller's log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench._fronts import clock_offset
from bench.screenpop import Desktop, LeaderOffer, Received, agent_ids, analyse_cluster, leader_offers, log_warnings
from cti.records import InteractionRecord

T = datetime(2026, 12, 7, 16, 0, 0, tzinfo=UTC)


def _row(call_id: str, *winners: str, number: str = "+622155501001") -> InteractionRecord:
    decisions: list[dict[str, Any]] = [{"at": T.isoformat(), "kind": "queued", "winner": None}]
    decisions += [{"at": (T + timedelta(seconds=n + 1)).isoformat(), "kind": "offered", "winner": agent}
                  for n, agent in enumerate(winners)]
    return InteractionRecord(call_id=call_id, channel_id=f"ch-{call_id}", caller_number=number,
                             service_number="1500100", queue="default", arrived_at=T,
                             routing={"decisions": decisions})


def test_agent_ids_keep_the_in_process_names_and_sort_as_numbered_at_ten_thousand() -> None:
    assert agent_ids(3) == ["bench-001", "bench-002", "bench-003"]
    many = agent_ids(10_000)
    assert many[0] == "bench-00001" and many[-1] == "bench-10000"
    assert many == sorted(many) and len(set(many)) == 10_000


def test_every_offered_decision_is_an_offer_and_a_second_offer_counts_again() -> None:
    offers = leader_offers([_row("c2", "bench-002"), _row("c1", "bench-001", "bench-003"), _row("c3")])
    assert [(o.call_id, o.agent_id) for o in offers] == [("c2", "bench-002"), ("c1", "bench-001"),
                                                        ("c1", "bench-003")]
    assert offers[2].decided_at == T + timedelta(seconds=2)
    assert offers[0].caller_number == "+622155501001"


def _frame(t: float, type_: str, call_id: str | None, *, state: str | None = None, agent_id: str | None = None,
           customer_id: str | None = None, offered_at: str | None = None) -> Received:
    return Received(t, type_, call_id, state, agent_id, customer_id, None, 100, offered_at)


def _desktop(agent_id: str, *frames: Received) -> Desktop:
    desktop = Desktop(agent_id, None)
    desktop.frames = [_frame(0.0, "snapshot", None), *frames]
    return desktop


def test_a_pop_is_timed_from_its_own_offered_at_on_this_machines_clock() -> None:
    offset = clock_offset()
    offered = datetime.now(UTC)
    t0 = offered.timestamp() - offset
    offer = LeaderOffer("c1", "bench-001", "02155501001", offered)
    stamp = offered.isoformat()
    desktops = {
        "bench-001": _desktop("bench-001", _frame(t0 + 0.004, "call", "c1", state="ringing", offered_at=stamp),
                              _frame(t0 + 0.005, "offer", "c1", customer_id="10000001", offered_at=stamp)),
        "bench-002": _desktop("bench-002"),
    }
    result = analyse_cluster([offer], desktops, {"bench-001": 1, "bench-002": 1}, offset,
                             {"+622155501001": "10000001"}, {"bench-001": "http://a", "bench-002": "http://b"})
    assert result["pop_latency_ms"]["p50"] == pytest.approx(5.0, abs=0.01)
    assert result["call_frame_baseline_ms"]["p50"] == pytest.approx(4.0, abs=0.01)
    assert result["pop_minus_call_frame_ms"]["p50"] == pytest.approx(1.0, abs=0.01)
    assert result["pops_missing"] == 0 and result["frames_to_wrong_desktop"] == 0
    assert result["pops_ahead_of_their_call_frame"] == 0  # built after the call frame was published: in a task
    assert result["pops_with_crm_record"] == 1 and result["pops_customer_mismatch"] == 0
    assert result["pop_latency_by_caller_ms"]["known"]["n"] == 1
    assert result["offered_at_minus_decision_ms"]["p50"] == 0.0
    assert result["per_front_end"]["http://a"]["pops"] == 1
    assert result["per_front_end"]["http://b"]["pops"] == result["per_front_end"]["http://b"]["pops_missing"] == 0
    assert result["meets_target"] is True


def test_the_wall_clock_and_perf_counter_agree_within_a_millisecond() -> None:
    offset = clock_offset()
    before = time.perf_counter()
    stamp = datetime.now(UTC)
    after = time.perf_counter()
    offer = LeaderOffer("c1", "bench-001", "021", stamp)
    desktop = _desktop("bench-001", _frame(after, "offer", "c1", offered_at=stamp.isoformat()))
    result = analyse_cluster([offer], {"bench-001": desktop}, {}, offset, {}, {"bench-001": "u"})
    assert 0.0 <= result["pop_latency_ms"]["p50"] <= (after - before) * 1000 + 1.0
    assert result["pops_before_their_offer"] == 0


def test_a_pop_missing_at_its_agent_a_frame_at_another_and_frames_before_the_phase() -> None:
    offered = datetime.now(UTC)
    offers = [LeaderOffer("c1", "bench-001", "021", offered), LeaderOffer("c2", "bench-002", "021", offered)]
    stamp = offered.isoformat()
    desktops = {
        # c1's pop went to bench-002's desktop, not bench-001's; an earlier phase's c0 pop is before the mark.
        "bench-001": _desktop("bench-001", _frame(1.0, "offer", "c0", offered_at=stamp),
                              _frame(2.0, "agent", None, agent_id="bench-001")),
        "bench-002": _desktop("bench-002", _frame(3.0, "offer", "c1", offered_at=stamp),
                              _frame(3.1, "offer", "c2", offered_at=stamp),
                              _frame(3.2, "offer", "c2", offered_at=stamp),
                              _frame(3.3, "agent", None, agent_id="bench-001"), _frame(3.4, "call", "c9")),
    }
    result = analyse_cluster(offers, desktops, {"bench-001": 2, "bench-002": 1}, 0.0, {}, {})
    assert result["pops_missing"] == 1 and result["pops_missing_call_ids"] == ["c1"]
    assert result["frames_to_wrong_desktop_by_type"] == {"offer": 1, "agent": 1}
    assert result["frames_for_calls_without_a_row"] == 1
    assert result["duplicate_pops"] == 1
    assert result["meets_target"] is False


def test_a_call_offered_twice_to_one_agent_needs_two_pops() -> None:
    offered = datetime.now(UTC)
    stamp = offered.isoformat()
    offers = [LeaderOffer("c1", "bench-001", "021", offered),
              LeaderOffer("c1", "bench-001", "021", offered + timedelta(seconds=5))]
    once = {"bench-001": _desktop("bench-001", _frame(9.0, "offer", "c1", offered_at=stamp))}
    twice = {"bench-001": _desktop("bench-001", _frame(9.0, "offer", "c1", offered_at=stamp),
                                   _frame(9.5, "offer", "c1", offered_at=stamp))}
    assert analyse_cluster(offers, once, {}, 0.0, {}, {})["pops_missing"] == 1
    result = analyse_cluster(offers, twice, {}, 0.0, {}, {})
    assert result["pops_missing"] == 0 and result["duplicate_pops"] == 0


def test_a_pop_built_in_the_offers_step_comes_ahead_of_its_call_frame() -> None:
    offered = datetime.now(UTC)
    stamp = offered.isoformat()
    offers = [LeaderOffer("c1", "bench-001", "021", offered), LeaderOffer("c2", "bench-001", "021", offered)]
    desktop = _desktop("bench-001", _frame(1.0, "offer", "c1", offered_at=stamp),
                       _frame(1.0, "call", "c1", state="ringing", offered_at=stamp),
                       _frame(2.0, "call", "c2", state="ringing", offered_at=stamp),
                       _frame(2.0, "offer", "c2", offered_at=stamp))
    result = analyse_cluster(offers, {"bench-001": desktop}, {}, 0.0, {}, {})
    assert result["pops_ahead_of_their_call_frame"] == 1


def test_a_pop_without_its_stamp_is_not_timed_and_fails_the_target() -> None:
    offer = LeaderOffer("c1", "bench-001", "021", datetime.now(UTC))
    desktops = {"bench-001": _desktop("bench-001", _frame(1.0, "offer", "c1"))}
    result = analyse_cluster([offer], desktops, {}, 0.0, {}, {})
    assert result["pops_without_offered_at"] == 1 and result["pop_latency_ms"]["n"] == 0
    assert result["pops_missing"] == 0 and result["meets_target"] is False


def test_a_controllers_log_warnings_by_kind() -> None:
    text = "\n".join([
        "2026-12-07 16:00:00,001 INFO cti.serve: leading with term 3",
        "2026-12-07 15:55:01,879 WARNING cti: standing by as vm:31615:4e67638d until this controller holds the lease",
        "2026-12-07 15:55:01,885 WARNING cti.cluster: leading now (term 1796658901884, vm:31615:4e67638d)",
        "2026-12-07 16:00:01,002 WARNING cti.services.identity: a caller was not identified within 2.0 s; going on",
        "2026-12-07 16:00:02,003 WARNING cti.services.screenpop: screen pop of call c1 without the CRM: timeout",
        "2026-12-07 16:00:03,004 ERROR cti.web: something failed",
        "2026-12-07 16:00:04,005 WARNING cti.telephony: bridge not destroyed 404",
        "Traceback (most recent call last): not identified",
    ])
    assert log_warnings(text) == {"callers_not_identified_on_arrival": 1, "screenpop_warnings": 1, "errors": 1,
                                  "warnings": 1, "leadership": 2}
