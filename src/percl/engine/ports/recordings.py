"""The recording files port: where recordings' WAV files are kept.

A small interface on purpose: the directory implementation (store/recording_files.py) is the
default, and an object store (S3-compatible: put_object / get_object / delete_object /
head_object, keys `<prefix>/<recordingId>.wav`) can implement the same five methods later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, Protocol

from percl.engine.ports.media import Audio


class RecordingFiles(Protocol):
    """Recordings' audio, one finished file per recording id. Writes are whole: a file is
    either complete or absent, never half-written."""

    def put(self, recording_id: str, data: bytes) -> int:
        """Store `data` as the recording's file (replacing one) and return its size in bytes.
        Raises OSError when it cannot (disk full, not writable); nothing is left behind then."""
        ...

    def open(self, recording_id: str) -> BinaryIO | None:
        """The finished file for reading (the caller closes it), or None when there is none."""
        ...

    def delete(self, recording_id: str) -> None:
        """Delete the recording's file; absent is fine."""
        ...

    def size(self, recording_id: str) -> int | None:
        """The file's size in bytes, or None when there is none."""
        ...

    def ids(self) -> Iterable[str]:
        """The ids of every finished file; a start-up sweep first removes what a crash left
        half-written."""
        ...


class RecordingTake(Protocol):
    """One recording being made: a RecordingSink (what the leg hears is written to it) that
    renders the audio as a WAV file once closed."""

    def write(self, audio: Audio) -> None:
        """What the leg sent (the caller's side)."""
        ...

    def hear(self, audio: Audio) -> None:
        """What the leg heard (percl's prompts, the other party): mixed with what it sent."""
        ...

    def close(self, duration_ms: int) -> None:
        """The recording stopped; it lasted `duration_ms` (the WAV lasts exactly as long)."""
        ...

    def words(self) -> str | None:
        """What was said, when the take holds symbolic speech only (the simulated network's
        words, joined by spaces; "" for none); None when it holds real audio, which only a
        transcriber can tell."""
        ...

    def render(self) -> bytes:
        """The closed recording as an 8 kHz 16-bit mono WAV. Blocking (speech synthesis):
        call it from a worker thread. Raises RuntimeError before `close`."""
        ...


class AudioRecorder(Protocol):
    """Makes takes (media/recording.py: real frames as they are, symbolic speech spoken by the
    text-to-speech voice, keys as DTMF tones)."""

    def take(self) -> RecordingTake:
        """A new take; its clock starts now (what is written is placed at the time it came)."""
        ...
