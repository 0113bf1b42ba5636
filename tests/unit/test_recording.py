"""Recording of calls: the queue's policy per direction, what each policy allows the agent, and the service
that starts a recording where the policy says always, keeps the pauses, stores the audio when the call ends and
audits every play."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.acd import (
    Channel,
    Connect,
    ContactCenter,
    Hangup,
    Offer,
    RecordingAction,
    RecordingMode,
    RecordingPolicy,
    RecordingRefused,
    RecordingStatus,
    RulesError,
    WorkChanged,
    WorkItem,
    parse_rules,
    recording_step,
)
from cti.errors import NotFound
from cti.records import RecordingRecord, UserRecord
from cti.services import AuditTrail, CallRecording, CommandBus, Distributor, Policy, interaction_record
from cti.services._ports import Recorder, Recordings
from tests.unit.fakes import FakeAuditLog, FakeInteractions
from tests.unit.fakes import Recorder as Keeper

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
ANA = UserRecord(2, "agent-ana", "agent", "ana", False)
BOB = UserRecord(3, "agent-bob", "agent", "bob", False)
ADMIN = UserRecord(1, "admin", "admin", None, False)
OFF, ON, PAUSED = RecordingStatus.OFF, RecordingStatus.RECORDING, RecordingStatus.PAUSED


# -- the policy in the rules -----------------------------------------------------------------------------------
def test_a_queue_records_on_demand_unless_its_rules_say_otherwise() -> None:
    rules = parse_rules({"queues": {
        "care": {},
        "sales": {"recording": {"inbound": "always", "outbound": "never", "announcement": "beep"}},
        "legal": {"recording": "never"},
    }})
    assert rules.queues["care"].recording == RecordingPolicy(inbound="on_demand", outbound="on_demand")
    sales = rules.queues["sales"].recording
    assert (sales.mode(outbound=False), sales.mode(outbound=True), sales.announcement) == ("always", "never", "beep")
    assert rules.queues["legal"].recording.mode(outbound=False) == "never"
    assert rules.queues["legal"].recording.mode(outbound=True) == "never"


@pytest.mark.parametrize("recording", ["sometimes", {"inbound": "yes"}, {"inbound": "always", "ring": 1},
                                       {"announcement": "../etc/passwd"}])
def test_a_recording_policy_that_is_none_is_refused_with_where(recording: object) -> None:
    with pytest.raises(RulesError, match=r"queues\.care\.recording"):
        parse_rules({"queues": {"care": {"recording": recording}}})


# -- what each policy allows -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "status", "action", "after"), [
    ("on_demand", OFF, "start", ON), ("on_demand", ON, "pause", PAUSED), ("on_demand", PAUSED, "resume", ON),
    ("on_demand", ON, "stop", OFF), ("on_demand", PAUSED, "stop", OFF),
    ("always", ON, "pause", PAUSED), ("always", PAUSED, "resume", ON), ("always", OFF, "start", ON),
])
def test_allowed_steps(mode: RecordingMode, status: RecordingStatus, action: RecordingAction,
                       after: RecordingStatus) -> None:
    assert recording_step(mode, status, action) is after


@pytest.mark.parametrize(("mode", "status", "action", "why"), [
    ("never", OFF, "start", "policy is 'never'"), ("never", ON, "pause", "policy is 'never'"),
    ("always", ON, "stop", "may be paused, not stopped"), ("always", PAUSED, "stop", "may be paused, not stopped"),
    ("on_demand", ON, "start", "recorded already"), ("on_demand", OFF, "pause", "not being recorded"),
    ("on_demand", ON, "resume", "not paused"), ("on_demand", OFF, "stop", "not being recorded"),
    ("on_demand", PAUSED, "pause", "not being recorded"),
])
def test_refused_steps_say_why(mode: RecordingMode, status: RecordingStatus, action: RecordingAction,
                               why: str) -> None:
    with pytest.raises(RecordingRefused, match=why):
        recording_step(mode, status, action)


# -- the service -----------------------------------------------------------------------------------------------
class FakeRecorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    async def start(self, name: str, call_id: str, *, format: str, announcement: str | None) -> None:
        self.log.append(("start", f"{call_id}:{format}:{announcement}"))

    async def pause(self, name: str) -> None:
        self.log.append(("pause", name))

    async def resume(self, name: str, *, call_id: str, announcement: str | None) -> None:
        self.log.append(("resume", name))

    async def finish(self, name: str) -> bytes | None:
        self.log.append(("finish", name))
        return b"RIFF-audio-of-" + name.encode()


class FakeRecordings:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rows: dict[str, RecordingRecord] = {}

    async def add(self, record: RecordingRecord, audio: bytes) -> RecordingRecord:
        self.file(record).parent.mkdir(parents=True, exist_ok=True)
        self.file(record).write_bytes(audio)
        self.rows[record.recording_id] = record
        return record

    async def get(self, recording_id: str) -> RecordingRecord | None:
        return self.rows.get(recording_id)

    async def for_call(self, call_id: str) -> builtins.list[RecordingRecord]:
        return [r for r in self.rows.values() if r.call_id == call_id]

    async def of_agent(self, agent_id: str, *, limit: int) -> builtins.list[RecordingRecord]:
        mine = sorted((r for r in self.rows.values() if r.agent_id == agent_id), key=lambda r: r.started_at,
                      reverse=True)
        calls = list(dict.fromkeys(r.call_id for r in mine))[:limit]
        return [r for r in mine if r.call_id in calls]

    def file(self, record: RecordingRecord) -> Path:
        return self.directory / record.path

    async def delete_for_calls(self, call_ids: Collection[str]) -> int:
        gone = [r for r in self.rows.values() if r.call_id in call_ids]
        for r in gone:
            del self.rows[r.recording_id]
        return len(gone)

    async def delete_before(self, before: datetime) -> int:
        return 0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def setup(recording: object, tmp_path: Path) -> tuple[Distributor, CallRecording, FakeRecorder, FakeRecordings,
                                                       FakeAuditLog, Clock, FakeInteractions]:
    clock = Clock()
    core = ContactCenter(parse_rules({"queues": {"sales": {"recording": recording}}}))
    keeper = Keeper()
    distributor = Distributor(core, clock, CommandBus({(kind, Channel.VOICE): [keeper]
                                                       for kind in (Offer, Connect, Hangup)}))
    for n, agent_id in enumerate(("ana", "bob")):
        distributor.register_agent(agent_id, agent_id.title())
        distributor.login(agent_id, f"70{n:02d}", ready=n == 0)
    interactions = FakeInteractions()
    recorder, recordings, audit = FakeRecorder(), FakeRecordings(tmp_path), FakeAuditLog()
    policy = Policy(distributor.query, interactions)
    service = CallRecording(distributor.query, policy, recorder, recordings, AuditTrail(audit, clock), clock)
    assert distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number="0215550123",
                                       service_number="1500100", queue="", arrived_at=NOW, channel=Channel.VOICE))
    distributor.offer_answered("c1-a1")
    return distributor, service, recorder, recordings, audit, clock, interactions


def test_the_fakes_are_what_the_service_expects(tmp_path: Path) -> None:
    recorder: Recorder = FakeRecorder()
    recordings: Recordings = FakeRecordings(tmp_path)
    assert recorder and recordings


async def test_always_starts_on_the_bridge_pauses_keep_their_times_and_the_end_stores_the_audio(
        tmp_path: Path) -> None:
    distributor, service, recorder, recordings, audit, clock, interactions = setup(
        {"inbound": "always", "announcement": "beep"}, tmp_path)
    assert service.state(ANA, "c1").status is OFF
    await service.bridged("c1")
    state = service.state(ANA, "c1")
    assert (state.mode, state.status, state.since) == ("always", ON, NOW)
    assert recorder.log == [("start", "c1:wav:beep")]
    with pytest.raises(RecordingRefused, match="not stopped"):
        await service.act(ANA, "c1", "stop")
    clock.advance(5)
    assert (await service.act(ANA, "c1", "pause")).status is PAUSED
    clock.advance(3)
    assert (await service.act(ANA, "c1", "resume")).status is ON
    clock.advance(2)
    call = distributor.hang_up("c1", "ana")
    await interactions.save(interaction_record(call))
    service.work_changed(WorkChanged(call), distributor)
    await service.drain()
    [record] = recordings.rows.values()
    assert (record.call_id, record.agent_id, record.format, record.paused) == ("c1", "ana", "wav", ((5.0, 8.0),))
    assert (record.started_at, record.seconds) == (NOW, 10.0)
    assert record.path == f"2026/12/07/{record.recording_id}.wav"
    assert recordings.file(record).read_bytes() == f"RIFF-audio-of-cti-{record.recording_id}".encode()
    assert [kind for kind, _ in recorder.log] == ["start", "pause", "resume", "finish"]

    # Played by the call's agent and an admin, audited each time; another agent does not know it exists.
    played, path = await service.open(ANA, record.recording_id, source="127.0.0.1")
    assert played == record and path == recordings.file(record)
    await service.open(ADMIN, record.recording_id, source="127.0.0.1", download=True)
    clock.advance(30)
    await service.open(ANA, record.recording_id, source="127.0.0.1")  # a player's next range: the same play
    with pytest.raises(NotFound):
        await service.open(BOB, record.recording_id, source="127.0.0.1")
    with pytest.raises(NotFound):
        await service.of_call(BOB, "c1")
    assert await service.of_call(ANA, "c1") == [record]
    await AuditTrail(audit, clock).flush()
    assert [(e.actor, e.action, e.subject_type, e.subject_id, e.detail) for e in audit.entries] == [
        ("agent-ana", "play", "recording", record.recording_id, {"call_id": "c1"}),
        ("admin", "download", "recording", record.recording_id, {"call_id": "c1"})]
    # Ten minutes on, it is another play: audited again.
    clock.advance(600)
    await service.open(ANA, record.recording_id, source="127.0.0.1")
    await AuditTrail(audit, clock).flush()
    assert [e.actor for e in audit.entries] == ["agent-ana", "admin", "agent-ana"]


async def test_never_refuses_every_control_and_records_nothing(tmp_path: Path) -> None:
    _, service, recorder, _, _, _, _ = setup("never", tmp_path)
    await service.bridged("c1")
    for action in ("start", "pause", "resume", "stop"):
        with pytest.raises(RecordingRefused, match="'never'"):
            await service.act(ANA, "c1", action)
    assert recorder.log == []


async def test_on_demand_is_the_agent_s_to_start_and_stop_and_only_the_call_s_agent_s(tmp_path: Path) -> None:
    _, service, recorder, recordings, _, clock, _ = setup("on_demand", tmp_path)
    await service.bridged("c1")
    assert recorder.log == []  # nothing until the agent asks
    with pytest.raises(NotFound):
        await service.act(BOB, "c1", "start")
    assert (await service.act(ANA, "c1", "start")).status is ON
    clock.advance(4)
    assert (await service.act(ANA, "c1", "stop")).status is OFF
    [record] = recordings.rows.values()
    assert record.seconds == 4.0 and record.paused == ()
    assert (await service.act(ADMIN, "c1", "start")).status is ON  # again: a second recording of the call


async def test_an_agent_s_own_recorded_calls_are_theirs_only_newest_first_and_the_read_is_audited(
        tmp_path: Path) -> None:
    distributor, service, _, recordings, audit, clock, interactions = setup("on_demand", tmp_path)
    for _ in range(2):  # two recordings of the call: started and stopped twice
        await service.act(ANA, "c1", "start")
        clock.advance(3)
        await service.act(ANA, "c1", "stop")
    call = distributor.hang_up("c1", "ana")
    await interactions.save(interaction_record(call))
    # A recording of ana's whose interaction she may not see (none stored): not listed.
    await recordings.add(RecordingRecord(recording_id="f" * 32, call_id="elsewhere", agent_id="ana", path="x.wav",
                                         format="wav", started_at=clock(), ended_at=clock()), b"RIFF")
    first, second = sorted(recordings.rows.values(), key=lambda r: r.started_at)[:2]

    [(interaction, listed)] = await service.mine(ANA, limit=10, source="127.0.0.1")
    assert (interaction.call_id, listed) == ("c1", [first, second])
    assert await service.mine(BOB, limit=10, source="127.0.0.1") == []
    assert await service.mine(ADMIN, limit=10, source="127.0.0.1") == []  # no agent: no calls of their own
    await AuditTrail(audit, clock).flush()
    assert [(e.actor, e.action, e.subject_type, e.detail) for e in audit.entries] == [
        ("agent-ana", "list", "interaction", {"call_ids": ["c1"]}),
        ("agent-bob", "list", "interaction", {"call_ids": []}),
        ("admin", "list", "interaction", {"call_ids": []})]
