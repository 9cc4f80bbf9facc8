"""Test-only speech: espeak-ng (the `espeakng_loader` wheel, through ctypes) through a telephone channel.

The product's TTS lives in percl.media.tts (another piece of issue 12); these tests do not import it
so the recogniser can be tested on its own. `telephone_speech(text)` is what a caller's voice looks
like once it has crossed a phone network: 8 kHz, the 300-3,400 Hz voice band, a G.711 mu-law round
trip. espeak-ng is not re-entrant, so one lock guards every synthesis.
"""

from __future__ import annotations

import ctypes
import threading

import espeakng_loader
import numpy as np
import soxr
from numpy.typing import NDArray

Pcm = NDArray[np.int16]

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_CHARS_UTF8 = 1
_RATE = 1  # espeakRATE
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Espeak:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, ctypes.c_char_p(data), 0)
        if self.rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self.chunks: list[Pcm] = []
        self.callback = _CALLBACK(self._collect)  # kept referenced: the library calls it later
        self.lib.espeak_SetSynthCallback(self.callback)
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synth(self, text: str, voice: str, words_per_minute: int) -> tuple[Pcm, int]:
        with self.lock:
            self.chunks = []
            self.lib.espeak_SetVoiceByName(voice.encode())
            self.lib.espeak_SetParameter(_RATE, words_per_minute, 0)
            raw = text.encode() + b"\0"
            self.lib.espeak_Synth(raw, ctypes.c_size_t(len(raw)), 0, 0, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            pcm = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
            return pcm.astype(np.int16), int(self.rate)


_engine: _Espeak | None = None
_engine_lock = threading.Lock()


def _espeak() -> _Espeak:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Espeak()
        return _engine


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Pcm:
    """`text` spoken by espeak-ng, resampled to 8 kHz (no channel effects)."""
    pcm, rate = _espeak().synth(text, voice, words_per_minute)
    return np.asarray(soxr.resample(pcm, rate, 8000), dtype=np.int16)


def band_pass(pcm: Pcm, low_hz: float = 300.0, high_hz: float = 3400.0, rate: int = 8000) -> Pcm:
    """The telephone voice band: zero the FFT bins outside low_hz..high_hz."""
    spectrum = np.fft.rfft(pcm.astype(np.float64))
    freqs = np.fft.rfftfreq(len(pcm), 1.0 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    out = np.fft.irfft(spectrum, n=len(pcm))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


_MU = 255.0


def mulaw_round_trip(pcm: Pcm) -> Pcm:
    """A G.711-like mu-law round trip: compand to 8 bits and back (the continuous mu-law curve)."""
    x = pcm.astype(np.float64) / 32768.0
    y = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    code = np.round(y * 127.0)  # 8 bits: a sign and 7 bits of magnitude
    back = np.sign(code) * np.expm1(np.abs(code / 127.0) * np.log1p(_MU)) / _MU
    return np.clip(np.round(back * 32768.0), -32768, 32767).astype(np.int16)


def telephone_speech(text: str, *, words_per_minute: int = 150, voice: str = "en-us") -> Pcm:
    """`text` as a caller's voice reaches percl: espeak at 8 kHz, band-passed, mu-law round trip."""
    return mulaw_round_trip(band_pass(speak(text, voice=voice, words_per_minute=words_per_minute)))


def white_noise(ms: int, sigma: float, seed: int) -> Pcm:
    """Gaussian noise at 8 kHz with standard deviation `sigma` (int16 units)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.0, sigma, ms * 8), -32768, 32767).astype(np.int16)
