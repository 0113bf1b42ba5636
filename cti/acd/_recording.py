"""Recording of calls: a queue's policy per direction, and what an agent may do with a call's recording.

A queue's ``recording`` in the rules file says, for calls coming in and going out, whether cti records
``always`` (from the moment the agent is connected; the agent may pause, never stop), ``never`` (no one can
start it), or ``on_demand`` (the agent starts, pauses, resumes and stops it). A pause is for what must not be
kept (a card number): the paused part is not written to the file.

```yaml
queues:
  sales:
    recording: {inbound: always, outbound: on_demand, announcement: beep}
  care:
    recording: never          # one word: both directions
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cti.acd._errors import AcdError
from cti.errors import Conflict

__all__ = [
    "RECORDING_ACTIONS",
    "RecordingAction",
    "RecordingMode",
    "RecordingPolicy",
    "RecordingRefused",
    "RecordingStatus",
    "recording_step",
]

RecordingMode = Literal["always", "never", "on_demand"]
RecordingAction = Literal["start", "pause", "resume", "stop"]
RECORDING_ACTIONS: tuple[RecordingAction, ...] = ("start", "pause", "resume", "stop")


class RecordingStatus(StrEnum):
    OFF = "off"
    """Not recording (never started, or stopped)."""
    RECORDING = "recording"
    PAUSED = "paused"


class RecordingRefused(AcdError, Conflict):
    """The policy or the recording's state does not allow the action now."""


class RecordingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inbound: RecordingMode = "on_demand"
    outbound: RecordingMode = "on_demand"
    announcement: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_/-]+$",
        description="a sound both sides hear when the recording starts or resumes (e.g. 'beep'); none: silent")

    @model_validator(mode="before")
    @classmethod
    def _one_word(cls, value: Any) -> Any:
        if isinstance(value, str):  # "always": the same for both directions
            return {"inbound": value, "outbound": value}
        return value

    def mode(self, outbound: bool) -> RecordingMode:
        return self.outbound if outbound else self.inbound


def recording_step(mode: RecordingMode, status: RecordingStatus, action: RecordingAction) -> RecordingStatus:
    """The recording's status after ``action``, or :class:`RecordingRefused` saying why not."""
    if mode == "never":
        raise RecordingRefused("this call may not be recorded (the queue's recording policy is 'never')")
    if action == "start":
        if status is not RecordingStatus.OFF:
            raise RecordingRefused(f"the call is being recorded already ({status.value})")
        return RecordingStatus.RECORDING
    if action == "pause":
        if status is not RecordingStatus.RECORDING:
            raise RecordingRefused("the call is not being recorded")
        return RecordingStatus.PAUSED
    if action == "resume":
        if status is not RecordingStatus.PAUSED:
            raise RecordingRefused("the recording is not paused")
        return RecordingStatus.RECORDING
    if mode == "always":
        raise RecordingRefused("this call is always recorded: it may be paused, not stopped")
    if status is RecordingStatus.OFF:
        raise RecordingRefused("the call is not being recorded")
    return RecordingStatus.OFF
