"""What the caller of `percl sim call` hears, as sound: `--record FILE` writes it to a WAV at the
end of the call, `--play` plays it on the local speaker (speaker.py) while the call runs.

Both read the leg's audio from the sim API (`GET /calls/{callId}/audio?channel=heard`), which
answers 409 when percl runs in symbolic media fidelity. `--play` polls it with `fromMs` at each
refresh of the live view and writes the new samples to the speaker.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from pathlib import Path

from percl.cli.connection import HttpError, PerclClient
from percl.cli.speaker import RATE, Speaker

SAMPLES_PER_MS = RATE // 1000


def wav_samples(data: bytes) -> bytes:
    """The raw 16-bit samples of a mono WAV the sim API sent."""
    with wave.open(io.BytesIO(data)) as wav:
        samples: bytes = wav.readframes(wav.getnframes())
    return samples


class CallAudio:
    """`--record` and `--play` for one followed call: `tick()` at each refresh, `finish()` at the
    end. Messages go to `say(text, style)`."""

    def __init__(self, client: PerclClient, call_id: str, say: Callable[[str, str], None], *,
                 record: Path | None = None, speaker: Speaker | None = None) -> None:
        self._client = client
        self._call_id = call_id
        self._say = say
        self._record = record
        self._speaker = speaker
        self._played_ms = 0

    def tick(self) -> None:
        """Play what the caller heard since the last tick."""
        if self._speaker is None:
            return
        try:
            data = self._heard(self._played_ms)
        except HttpError as exc:
            self._say(f"--play: stopped: {exc.message}", "red")
            self._stop_playing()
            return
        samples = wav_samples(data)
        whole = len(samples) - len(samples) % (2 * SAMPLES_PER_MS)  # whole milliseconds
        if whole:
            self._speaker.write(samples[:whole])
            self._played_ms += whole // (2 * SAMPLES_PER_MS)

    def finish(self) -> bool:
        """The call is over: play the rest, write the recording. False when it could not be
        written (the reason was said)."""
        if self._speaker is not None:
            self.tick()
            self._stop_playing()
        if self._record is None:
            return True
        try:
            data = self._heard(0)
        except HttpError as exc:
            self._say(f"--record: no recording: {exc.message}", "red")
            return False
        try:
            self._record.write_bytes(data)
        except OSError as exc:
            self._say(f"--record: cannot write {self._record}: {exc.strerror}", "red")
            return False
        seconds = len(wav_samples(data)) / (2 * RATE)
        self._say(f"recorded what the caller heard ({seconds:.1f} s) to {self._record}", "dim")
        return True

    def _heard(self, from_ms: int) -> bytes:
        return self._client.sim_bytes(f"/calls/{self._call_id}/audio",
                                      params={"channel": "heard", "fromMs": from_ms})

    def _stop_playing(self) -> None:
        if self._speaker is not None:
            self._speaker.close()
            self._speaker = None
