"""How long things take on the simulated network (pure functions, no clock).

The time model, in the units the control API documents:

- **Say**: `words / words_per_minute` minutes (default 150 words per minute; words are runs of
  non-blank characters) plus a fixed 300 ms per utterance. "Hello there" lasts 0.8 + 0.3 = 1.1 s.
- **Pause**: its `length` in milliseconds.
- **Play**: `play_default_ms` (3000 ms) unless the network was given a `media_duration(url)`
  probe and it returns the file's real duration in seconds.
- **SendDigits** (DTMF sent to the phone): 100 ms per digit, plus `pauseMs` for every pause unit
  written as `{n}` (n units) in the digit string.
- All of the above are multiplied by `media_time_scale`: 1.0 is real time, 0 makes media instant.
- Keys pressed by a virtual phone (script steps, `POST .../digits`) reach the platform one digit
  every 100 ms; the first digit arrives at the step's time. This is phone behaviour, not media, so
  it is not scaled; neither are answerAfterMs, hangupAfterMs and machine detection time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DTMF_DIGITS = frozenset("0123456789*#")
DIGIT_MS = 100  # one DTMF tone, sent or pressed
SAY_FIXED_MS = 300
PLAY_DEFAULT_MS = 3000

_SEND_TOKEN = re.compile(r"\{(\d+)\}|([0-9*#])")


@dataclass(frozen=True, slots=True)
class MediaModel:
    """The documented durations, parametrised as the network was configured."""

    time_scale: float = 1.0
    words_per_minute: int = 150
    play_default_ms: int = PLAY_DEFAULT_MS

    def say_seconds(self, text: str) -> float:
        words = len(text.split())
        return self.scaled(words / self.words_per_minute * 60.0 + SAY_FIXED_MS / 1000.0)

    def pause_seconds(self, length_ms: int) -> float:
        return self.scaled(max(0, length_ms) / 1000.0)

    def play_seconds(self, probed: float | None) -> float:
        """`probed` is the probe's answer in seconds (None: unknown, use the default)."""
        base = probed if probed is not None and probed >= 0 else self.play_default_ms / 1000.0
        return self.scaled(base)

    def send_digits_seconds(self, digits: str, pause_ms: int) -> float:
        tones, units = parse_send_digits(digits)
        return self.scaled((len(tones) * DIGIT_MS + units * max(0, pause_ms)) / 1000.0)

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


def parse_send_digits(digits: str) -> tuple[str, int]:
    """Split a SendDigits string into (the DTMF tones, the number of pause units).

    Raises ValueError when `digits` holds anything but 0-9, *, # and `{n}` pause markers.
    """
    tones: list[str] = []
    units = 0
    pos = 0
    for m in _SEND_TOKEN.finditer(digits):
        if m.start() != pos:
            break
        pos = m.end()
        if m.group(1) is not None:
            units += int(m.group(1))
        else:
            tones.append(m.group(2))
    if pos != len(digits):
        raise ValueError(f"digits {digits!r}: only 0-9, *, # and {{n}} pauses are allowed")
    return "".join(tones), units


def check_keys(digits: str) -> str:
    """Return `digits` when it is a non-empty string of keypad keys; raise ValueError otherwise."""
    if not digits or any(ch not in DTMF_DIGITS for ch in digits):
        raise ValueError(f"digits {digits!r}: only keypad keys 0-9, * and # are allowed")
    return digits
