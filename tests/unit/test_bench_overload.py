"""bench/overload.py --cluster's pure helpers: what became of the calls the agents' phones answered (the bench's own
phones hanging up before cti's bridge told apart from the cluster's losses), and the store a database URL names."""

from __future__ import annotations

from bench._cluster import agents_answered, store_of
from bench.overload import _variant_or_error, parse_args


def test_a_phone_that_hung_up_before_any_bridge_is_the_benchs_loss_not_an_unbridged_leg() -> None:
    events = [
        ("INVITE", "0200191", 1.0), ("ACK", "0200191", 1.1), ("DONE", "0200191", 2.2),  # bridged, talked its time
        ("INVITE", "0200192", 1.0), ("ACK", "0200192", 1.1), ("DONE", "0200192", 2.1),  # hung up first: no bridge
        ("INVITE", "0200193", 1.0), ("ACK", "0200193", 1.1),  # ended by the far end, never bridged
        ("INVITE", "0200194", 1.0), ("ACK", "0200194", 1.1),  # bridged, then cut before its time was up
        ("INVITE", "0200195", 1.0),  # rung, never answered
        ("ACK", "0300191", 1.1), ("DONE", "0300191", 2.1),  # another phase's call
    ]
    bridged = {"0200191": 1.2, "0200194": 1.3, "0300191": 1.2}
    numbers = ["0200191", "0200192", "0200193", "0200194", "0200195", "0200196"]

    expected = {"answered": 4, "bridged": 2, "agent_hung_up_before_bridged": 1, "ended_unbridged": 1,
                "bridged_then_cut": 1}
    assert agents_answered(events, numbers, bridged) == expected
    assert agents_answered((e for e in events), numbers, bridged) == expected  # the phones' logs, read once


def test_no_call_answered_counts_nothing() -> None:
    assert agents_answered([("INVITE", "0200191", 1.0)], ["0200191"], {}) == {
        "answered": 0, "bridged": 0, "agent_hung_up_before_bridged": 0, "ended_unbridged": 0, "bridged_then_cut": 0}


def test_the_store_is_the_urls_dialect_without_its_driver() -> None:
    assert store_of("postgresql+asyncpg://cti:secret@127.0.0.1:6142/cti") == "postgresql"
    assert store_of("sqlite+aiosqlite:////tmp/cti-bench-cluster-x/cti.db") == "sqlite"


class _FailingBench:
    """A cluster bench whose ARI stops answering as the variant starts."""

    def __init__(self) -> None:
        self.settled = 0

    async def set_edge(self, rate: int, message_rate: int | None = None) -> dict[str, int]:
        raise TimeoutError("ARI did not answer")

    async def settle(self) -> int:
        self.settled += 1
        return 0


async def test_a_variant_that_fails_is_recorded_and_the_nodes_settled_for_the_next() -> None:
    bench = _FailingBench()
    args = parse_args(["--cluster", "--capacity", "5"])

    result = await _variant_or_error(bench, args, "none", 5.0, 5)  # type: ignore[arg-type]

    assert result == {"variant": "none", "error": "TimeoutError: ARI did not answer"}
    assert bench.settled == 1
