"""Recordings Asterisk has finished: their audio taken over ARI (so cti and Asterisk need not share a disk) and
Asterisk's copy deleted, leaving cti's recordings directory the one place retention and erasure look."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cti.ari import AriClient, AriError, AriNotFound
from cti.errors import Unavailable

__all__ = ["take_stored_recording", "wav_complete"]

log = logging.getLogger("cti.telephony.recorder")

# Asterisk closes the file a moment after the recording stops (or its channel or bridge goes): how long to wait.
_FILE_TRIES = 50
_FILE_INTERVAL = 0.1


def wav_complete(audio: bytes) -> bool:
    """Whether a WAV file's header is final. Asterisk writes the file where ARI lists it from the recording's start,
    with a RIFF size of 0, and puts the sizes in as it closes it: fetched in between (a loaded machine, CI's cross-node
    recording test), the file was unreadable. Anything that is not RIFF is taken as it is."""
    if audio[:4] != b"RIFF" or len(audio) < 8:
        return True
    return int.from_bytes(audio[4:8], "little") == len(audio) - 8


async def take_stored_recording(ari: AriClient, name: str) -> bytes | None:
    """The audio of an ended recording, fetched over ARI once Asterisk has closed it, and Asterisk's copy deleted;
    None if it left no file. ``Unavailable`` if Asterisk would not hand it over."""
    audio: bytes | None = None
    for _ in range(_FILE_TRIES):
        try:
            audio = await ari.stored_recording_file(name)
        except AriNotFound:
            await asyncio.sleep(_FILE_INTERVAL)
            continue
        except AriError as exc:
            raise Unavailable(f"recording {name} could not be fetched: {exc}") from exc
        if wav_complete(audio):
            break
        await asyncio.sleep(_FILE_INTERVAL)
    else:
        if audio is None:
            return None
        # Kept as it is (its audio is there; a player reads it to the end) rather than lost with Asterisk's copy.
        log.warning("recording %s: Asterisk did not finish its WAV header within %.0f s; taken as it is",
                    name, _FILE_TRIES * _FILE_INTERVAL)
    with contextlib.suppress(AriError):
        await ari.delete_stored_recording(name)
    return audio
