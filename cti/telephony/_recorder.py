"""Recording a call's bridge in Asterisk (ARI's LiveRecordings), for :class:`cti.services.CallRecording`.

Asterisk writes the mixed audio of the bridge into its spool; when the recording ends cti takes the file over
ARI (so cti and Asterisk need not share a disk) and deletes Asterisk's copy: retention and erasure then have one
place to look, cti's recordings directory."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cti.ari import AriClient, AriError, AriHTTPError, AriNotFound
from cti.errors import Unavailable
from cti.telephony._stored import take_stored_recording

__all__ = ["BridgeRecorder"]

log = logging.getLogger("cti.telephony.recorder")


class BridgeRecorder:
    """``bridge_of`` names a call's bridge now (``VoiceActions.bridge_of``: a transfer makes a new one)."""

    def __init__(self, ari: AriClient, bridge_of: Callable[[str], str]) -> None:
        self.ari = ari
        self.bridge_of = bridge_of

    async def start(self, name: str, call_id: str, *, format: str, announcement: str | None) -> None:
        bridge_id = self.bridge_of(call_id)
        try:
            await self.ari.record_bridge(bridge_id, name, format=format)
        except AriError as exc:
            raise Unavailable(f"call {call_id}: the recording did not start: {exc}") from exc
        await self._announce(bridge_id, announcement)

    async def pause(self, name: str) -> None:
        try:
            await self.ari.pause_recording(name)
        except AriError as exc:
            raise Unavailable(f"recording {name} did not pause: {exc}") from exc

    async def resume(self, name: str, *, call_id: str, announcement: str | None) -> None:
        try:
            await self.ari.unpause_recording(name)
        except AriError as exc:
            raise Unavailable(f"recording {name} did not resume: {exc}") from exc
        await self._announce(self.bridge_of(call_id), announcement)

    async def finish(self, name: str) -> bytes | None:
        try:
            await self.ari.stop_recording(name)
        except AriNotFound:
            pass  # it ended with its bridge already
        except AriHTTPError as exc:
            # 409 "not in session": it is ending with its bridge right now; its file follows.
            if exc.status != 409:
                raise Unavailable(f"recording {name} did not stop: {exc}") from exc
        except AriError as exc:
            raise Unavailable(f"recording {name} did not stop: {exc}") from exc
        return await take_stored_recording(self.ari, name)

    async def _announce(self, bridge_id: str, announcement: str | None) -> None:
        if announcement is None:
            return
        try:
            await self.ari.play_on_bridge(bridge_id, f"sound:{announcement}")
        except AriError as exc:  # the recording goes on; the announcement is a courtesy
            log.info("bridge %s: the recording's announcement did not play: %s", bridge_id, exc)
