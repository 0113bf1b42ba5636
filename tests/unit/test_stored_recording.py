"""A recording's file is taken once Asterisk has closed it (cti.telephony._stored)."""

from __future__ import annotations

import io
import wave

from cti.ari import AriNotFound
from cti.telephony._stored import take_stored_recording, wav_complete


def _wav(frames: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x01\x00" * frames)
    return out.getvalue()


def _open(audio: bytes) -> bytes:
    """As Asterisk's file is while it records: the RIFF and data sizes still 0."""
    return audio[:4] + b"\x00\x00\x00\x00" + audio[8:40] + b"\x00\x00\x00\x00" + audio[44:]


def test_a_wav_is_complete_once_its_sizes_are_written() -> None:
    done = _wav(800)
    assert wav_complete(done)
    assert not wav_complete(_open(done))
    assert wav_complete(b"not a wav at all")  # other formats are taken as they are


class _Asterisk:
    """Lists the file from the start, finishes its header at the third fetch."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.fetches = 0
        self.deleted: list[str] = []

    async def stored_recording_file(self, name: str) -> bytes:
        self.fetches += 1
        if self.fetches == 1:
            raise AriNotFound(404, "GET", f"/recordings/stored/{name}/file", "Recording not found")
        return self.audio if self.fetches >= 3 else _open(self.audio)

    async def delete_stored_recording(self, name: str) -> None:
        self.deleted.append(name)


async def test_the_file_is_taken_only_after_asterisk_closed_it() -> None:
    done = _wav(8000)
    asterisk = _Asterisk(done)
    audio = await take_stored_recording(asterisk, "rec-1")  # type: ignore[arg-type]
    assert audio == done and asterisk.fetches == 3 and asterisk.deleted == ["rec-1"]
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getnframes() == 8000
