"""Recordings Asterisk has finished: their audio taken over ARI (so cti and Asterisk need not share a disk) and
Asterisk's copy deleted, leaving cti's recordings directory the one place retention and erasure look."""

from __future__ import annotations

import asyncio
import contextlib

from cti.ari import AriClient, AriError, AriNotFound
from cti.errors import Unavailable

__all__ = ["take_stored_recording"]

# Asterisk closes the file a moment after the recording stops (or its channel or bridge goes): how long to wait.
_FILE_TRIES = 20
_FILE_INTERVAL = 0.1


async def take_stored_recording(ari: AriClient, name: str) -> bytes | None:
    """The audio of an ended recording, fetched over ARI, and Asterisk's copy deleted; None if it left no file.
    ``Unavailable`` if Asterisk would not hand it over."""
    for _ in range(_FILE_TRIES):  # Asterisk closes the file a moment after the recording ends
        try:
            audio = await ari.stored_recording_file(name)
        except AriNotFound:
            await asyncio.sleep(_FILE_INTERVAL)
            continue
        except AriError as exc:
            raise Unavailable(f"recording {name} could not be fetched: {exc}") from exc
        with contextlib.suppress(AriError):
            await ari.delete_stored_recording(name)
        return audio
    return None
