"""The media port: what one leg plays, sends, records and hears.

A `MediaSession` belongs to one leg (`Telephony.media(call_id)`). Sources and captured audio are
typed values, so a network that moves real frames (the media issue) and the symbolic one the
simulated network uses today implement the same port: the symbolic one models durations and
writes transcripts; a real one decodes, synthesises and mixes samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from percl.engine.ports.grammar import SpeechGrammar

# --------------------------------------------------------------------------- what can be played


@dataclass(frozen=True, slots=True)
class Tts:
    """Text spoken by a text-to-speech voice (Say). `voice` is the language/voice name."""

    text: str
    voice: str | None = None


@dataclass(frozen=True, slots=True)
class File:
    """An audio file the app serves (Play, a conference's wait audio)."""

    url: str


@dataclass(frozen=True, slots=True)
class Silence:
    """Nothing, for `ms` milliseconds (Pause)."""

    ms: int


class ToneKind(StrEnum):
    BEEP = "beep"  # the conference entry/exit tone (playBeep), GetSpeech's prompt beep


@dataclass(frozen=True, slots=True)
class Tone:
    kind: ToneKind = ToneKind.BEEP


#: Everything a MediaSession can play.
Source = Tts | File | Silence | Tone


class PlayEnd(StrEnum):
    FINISHED = "finished"  # played to its end
    CUT = "cut"  # stopped early: the leg ended (a cancelled play raises CancelledError instead)


@dataclass(frozen=True, slots=True)
class Played:
    """How one play ended, and how much of it the far end heard."""

    end: PlayEnd
    heard_ms: int


# --------------------------------------------------------------------------- audio and recording


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A slice of real audio: 16-bit little-endian mono PCM at `sample_rate` Hz. `tone`: the
    network's DTMF detector hears a key's tone in it (so a take can leave its finish key out)."""

    pcm: bytes
    sample_rate: int = 8000
    tone: bool = False


@dataclass(frozen=True, slots=True)
class SpokenText:
    """Symbolic audio: an utterance known only by its words (the simulated network's speech)."""

    text: str


@dataclass(frozen=True, slots=True)
class DtmfTone:
    """Keys heard on the leg (RFC 4733 events on a real network)."""

    digits: str


#: What flows from a leg into a recording (and, later, into a recogniser).
Audio = AudioFrame | SpokenText | DtmfTone


class RecordingSink(Protocol):
    """Where a recording goes, piece by piece. Exactly one `close` ends it."""

    def write(self, audio: Audio) -> None:
        """The far end sent `audio` (its speech, its keys)."""
        ...

    def hear(self, audio: Audio) -> None:
        """The far end heard `audio` from the platform: percl's prompts and, in a conference or
        bridge, the other parties (a whole-call recording mixes both directions)."""
        ...

    def close(self, duration_ms: int) -> None:
        """The recording stopped; it lasted `duration_ms`."""
        ...


# --------------------------------------------------------------------------- a live audio tap


class StreamTap(Protocol):
    """A live two-way audio path to a leg's far end (AudioStream), from `MediaSession.open_stream`.

    Audio is 16-bit little-endian mono PCM at 8 kHz, 20 ms (320 bytes) a frame. Several taps may
    be open on one leg; each gets every frame, whether or not a recording runs. What is queued
    with `play` is heard by the far end after (mixed with) the leg's own prompts, in order.
    """

    async def read(self) -> bytes | None:
        """The far end's next 20 ms frame, waiting for it (silence is a frame of zeros); None once
        the leg ended or the tap was closed. A reader that falls behind loses the oldest frames
        beyond the tap's bound (it is told nothing: the gap is the loss)."""
        ...

    def play(self, pcm: bytes) -> int:
        """Queue `pcm` (whole samples) for the far end; returns how many samples were queued
        (fewer when the bound would be passed: the rest is dropped)."""
        ...

    def clear(self) -> int:
        """Drop everything queued and not yet played (barge-in); returns how many samples."""
        ...

    @property
    def queued(self) -> int:
        """Samples queued and not yet played."""
        ...

    @property
    def played(self) -> int:
        """Samples played to the far end since the tap opened (cleared ones never count)."""
        ...

    def close(self) -> None:
        """Stop the tap: `read` returns None and nothing more is played. Idempotent."""
        ...


# --------------------------------------------------------------------------- the port


class MediaListener(Protocol):
    """What a leg's media reports. Each method only records the event; none may block or raise."""

    def on_dtmf(self, digits: str) -> None:
        """The far end pressed `digits`."""
        ...

    def on_speech_started(self) -> None:
        """The far end began to speak."""
        ...

    def on_speech_ended(self, text: str) -> None:
        """The far end stopped speaking; `text` is what the network's Recognizer made of it
        (the symbolic network carries the words themselves)."""
        ...


class MediaSession(Protocol):
    """The media of one leg. Operations on a leg that is unknown or has ended do nothing."""

    async def play(self, source: Source) -> Played:
        """Play `source` to the far end; returns when it finished or the leg ended (CUT).
        Cancelling the awaiting task stops it (barge-in; CancelledError propagates) and the
        network notes how much was heard."""
        ...

    async def send_dtmf(self, digits: str, pause_ms: int) -> None:
        """Play DTMF to the far end; `{n}` in `digits` waits n pause units. Returns when done;
        cancellable like `play`. Raises ValueError for characters other than 0-9*# and `{n}`."""
        ...

    def start_recording(self, sink: RecordingSink) -> None:
        """Write what the far end sends (speech, keys) to `sink` and what it hears to
        `sink.hear`, until `stop_recording` or the end of the leg, which closes it. A recording
        already running is stopped first."""
        ...

    def stop_recording(self) -> None:
        """Close the running recording, if any."""
        ...

    def open_stream(self, max_buffer_ms: int) -> StreamTap:
        """Open a live tap on the leg's audio both ways (AudioStream). Each direction holds at most
        `max_buffer_ms` of audio. On an unknown or ended leg the tap is closed from the start."""
        ...

    def expect_speech(self, grammar: SpeechGrammar | None) -> None:
        """What the recogniser should listen for until changed: the grammar of a GetSpeech (its
        sentences or rules constrain the decoder; None: anything). A network that carries words,
        not audio, ignores it."""
        ...

