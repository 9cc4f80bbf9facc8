"""The local speaker of `percl sim call --play`: `paplay` (PulseAudio or PipeWire), else `aplay`
(ALSA), else the `sounddevice` package, whichever finds an output device first; when none does,
`open_speaker` says why (callaudio.py then runs the call silent).
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, Protocol

RATE = 8000
DRAIN_S = 30.0  # at most this long to let a player finish what it was given, at the end


class Speaker(Protocol):
    """A live sink of 16-bit 8 kHz mono samples (little-endian bytes)."""

    def write(self, pcm: bytes) -> None: ...
    def close(self) -> None: ...


class PipeSpeaker:
    """A player program that reads raw samples on its standard input (paplay, aplay)."""

    def __init__(self, argv: list[str]) -> None:
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)

    def write(self, pcm: bytes) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the player quit: the call goes on silent
            self._proc.stdin.write(pcm)
            self._proc.stdin.flush()

    def close(self) -> None:
        """Let the player finish what it was given (at most DRAIN_S), then stop it."""
        if self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        try:
            self._proc.wait(DRAIN_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class StreamSpeaker:
    """The sounddevice package's raw output stream."""

    def __init__(self, sounddevice: Any) -> None:
        self._stream = sounddevice.RawOutputStream(samplerate=RATE, channels=1, dtype="int16")
        self._stream.start()

    def write(self, pcm: bytes) -> None:
        self._stream.write(pcm)

    def close(self) -> None:
        self._stream.stop()  # plays what was written first
        self._stream.close()


def _ok(argv: list[str]) -> bool:
    """True when `argv` runs and exits 0 within 5 s."""
    try:
        return subprocess.run(argv, capture_output=True, timeout=5, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _paplay() -> Speaker | str:
    if shutil.which("paplay") is None:
        return "paplay is not installed"
    if not _ok(["pactl", "info"]):
        return "paplay finds no PulseAudio or PipeWire server"
    return PipeSpeaker(["paplay", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1"])


def _aplay() -> Speaker | str:
    if shutil.which("aplay") is None:
        return "aplay is not installed"
    if not _ok(["aplay", "-l"]):
        return "aplay finds no sound card"
    return PipeSpeaker(["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-r", str(RATE), "-c", "1"])


def _sounddevice() -> Speaker | str:
    try:
        sounddevice = importlib.import_module("sounddevice")
    except (ImportError, OSError):  # OSError: the package without its PortAudio library
        return "the sounddevice package is not installed"
    try:
        sounddevice.query_devices(kind="output")
        return StreamSpeaker(sounddevice)
    except Exception as exc:  # PortAudioError and friends: no usable device
        return f"sounddevice finds no output device ({exc})"


PLAYERS: tuple[Callable[[], Speaker | str], ...] = (_paplay, _aplay, _sounddevice)


def open_speaker(players: Sequence[Callable[[], Speaker | str]] = PLAYERS) -> Speaker | str:
    """The first of `players` that finds an output device, or why none could (one line)."""
    reasons = []
    for player in players:
        found = player()
        if not isinstance(found, str):
            return found
        reasons.append(found)
    return "; ".join(reasons)
