"""The fall-back engine: Debian's `espeak-ng` program, one process per text.

Used only when the espeakng-loader wheel's library cannot load (an unsupported platform, a broken
install). It costs ~25 ms of process start per text and needs `apt-get install espeak-ng`; the
output is the same engine's, read from the WAV it writes to stdout. Processes run side by side:
unlike the library, nothing here is shared.
"""

from __future__ import annotations

import struct
import subprocess

import numpy as np
from numpy.typing import NDArray

from percl.media.tts.speech import TtsError, VoiceNotFound

DEFAULT_TIMEOUT_S = 10.0  # 4,096 bytes of text (~4 minutes of speech) render in under a second


class ProgramRenderer:
    """Renders with the `espeak-ng` program at `path` (an absolute path, as shutil.which gives)."""

    def __init__(self, path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._path = path
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        return f"the espeak-ng program ({self._path})"

    def render(self, text: str, voice: str) -> tuple[NDArray[np.int16], int]:
        # Text on stdin, never as an argument (a text starting with "-" would be an option);
        # -b 1: UTF-8 whatever the locale; no -m: markup is read as text; --punct: "<" and ">"
        # are spoken by name, as the library path does.
        command = [self._path, "--stdout", "--stdin", "-b", "1", "-v", voice, "--punct=<>"]
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                  timeout=self._timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TtsError(f"{self.name} took longer than {self._timeout_s:g} s for "
                           f"{len(text)} characters of text") from exc
        except OSError as exc:
            raise TtsError(f"{self.name} could not run: {exc}") from exc
        error = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not done.stdout:
            if "voice does not exist" in error:
                raise VoiceNotFound(f"{self.name} has no voice {voice!r}")
            raise TtsError(f"{self.name} failed (exit status {done.returncode}): "
                           f"{error.splitlines()[-1] if error else 'no output'}")
        return wav_samples(done.stdout)


def wav_samples(data: bytes) -> tuple[NDArray[np.int16], int]:
    """The samples and rate of a 16-bit mono PCM WAV as espeak-ng writes it to a pipe (its sizes
    say 0x7ffff000 because a pipe cannot seek back: the data runs to the end of the bytes)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TtsError("the espeak-ng program wrote something that is not a WAV file")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"fmt " and pos + 24 <= len(data):
            audio_format, channels, rate = struct.unpack_from("<HHI", data, pos + 8)
            bits = struct.unpack_from("<H", data, pos + 22)[0]
            if (audio_format, channels, bits) != (1, 1, 16):
                raise TtsError(f"the espeak-ng program wrote a WAV of format {audio_format}, "
                               f"{channels} channel(s), {bits} bits; expected 16-bit mono PCM")
        elif chunk == b"data" and rate > 0:
            body = data[pos + 8:pos + 8 + min(size, len(data))]
            usable = len(body) - len(body) % 2
            return np.frombuffer(body[:usable], dtype="<i2").astype(np.int16), rate
        pos += 8 + size + size % 2
    raise TtsError("the espeak-ng program wrote a WAV file without format or audio data")
