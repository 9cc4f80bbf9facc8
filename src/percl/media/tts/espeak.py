"""Say's engine: espeak-ng, from the espeakng-loader wheel's shared library through ctypes.

Why it is built this way:

- The wheel ships libespeak-ng and its data, so `pip install` is enough on a fresh machine; Debian's
  `espeak-ng` program is the fall-back when the library cannot load (cli_fallback.py).
- libespeak-ng keeps its state in globals and is not re-entrant: the process loads it once
  (one handle per library file) and one lock serialises every call into it. A synthesis takes
  ~1 ms per second of speech, so the lock is held briefly.
- The library runs in synchronous mode: espeak_Synth returns when the text is spoken, having handed
  every block of samples to our callback on the calling thread.
- Text is passed as text: no SSML or phoneme flag, so "<speak>" and "&amp;" are read out, never
  interpreted; "<" and ">" (which espeak-ng otherwise skips silently) are spoken by name.
- Control characters are spoken as spaces: espeak-ng reads U+0001 as the start of an embedded
  command ("\x01200A" sets the amplitude to 200) whose setting outlives the text, so one Say could
  change how every later Say in the process sounds. Lone surrogates (JSON allows "\ud800") have
  no UTF-8 form and become spaces too.
- Text longer than MAX_TEXT_BYTES (FreeClimb's Say limit) is refused: the engine lock is held
  for the whole text, and its audio grows with it (4,096 bytes of punctuation speak for ~12 min).
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import shutil
import threading

import numpy as np
from numpy.typing import NDArray

from percl.media.tts.cache import CachedSynthesizer
from percl.media.tts.cli_fallback import DEFAULT_TIMEOUT_S, ProgramRenderer
from percl.media.tts.speech import (
    Renderer,
    Speech,
    SpeechSynthesizer,
    TtsError,
    VoiceNotFound,
    to_phone_audio,
)
from percl.media.tts.voices import DEFAULT_LANGUAGE, DEFAULT_VOICE, canonical_language, voice_for

log = logging.getLogger("percl.media.tts")

# espeak-ng's speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1  # the only flag passed: not espeakSSML (0x10), not espeakPHONEMES (0x100)
_EE_OK = 0
_PARAM_RATE = 1  # espeakRATE, words per minute
_DEFAULT_RATE = 175  # espeak-ng's own default
_PARAM_PUNCTUATION, _PUNCT_SOME = 5, 2
_SPOKEN_PUNCTUATION = "<>"

#: The longest text spoken, in UTF-8 bytes (lone surrogates counted as 3, as PerCL's check does).
MAX_TEXT_BYTES = 4096
# C0 and C1 controls but tab, newline and carriage return; lone surrogates.
_UNSPEAKABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.c_void_p)

#: One synthesis at a time in the whole process, whichever library file: espeak-ng is not re-entrant.
_ENGINE_LOCK = threading.Lock()
_LIBRARIES: dict[str, LibraryRenderer] = {}  # by the library file's real path


class LibraryRenderer:
    """libespeak-ng loaded through ctypes. Get it with `LibraryRenderer.load`, never twice per file."""

    def __init__(self, lib: ctypes.CDLL, rate: int, path: str, data_path: str) -> None:
        self._lib = lib
        self.rate = rate
        self._path = path
        self.data_path = data_path
        self._voice = ""
        self._chunks: list[NDArray[np.int16]] = []
        self._callback = _SynthCallback(self._collect)  # kept referenced: the library calls it
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_SetPunctuationList(_SPOKEN_PUNCTUATION)
        # Returns -1 in 1.52 although the setting takes effect (tests/media/tts checks "<" is spoken).
        lib.espeak_SetParameter(_PARAM_PUNCTUATION, _PUNCT_SOME, 0)

    @classmethod
    def load(cls, library_path: str, data_path: str) -> LibraryRenderer:
        """The process's handle on the library at `library_path`, initialised with the data folder
        `data_path` on first use. Raises OSError or TtsError when it cannot load."""
        key = os.path.realpath(library_path)
        with _ENGINE_LOCK:
            if key not in _LIBRARIES:
                lib = ctypes.CDLL(key)
                _declare(lib)
                rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(),
                                             _INITIALIZE_DONT_EXIT)
                if rate <= 0:
                    raise TtsError(f"libespeak-ng ({library_path}) did not initialise with the data "
                                   f"folder {data_path}")
                _LIBRARIES[key] = cls(lib, rate, library_path, data_path)
            loaded = _LIBRARIES[key]
        if loaded.data_path != data_path:  # one library, one set of globals: one data folder
            raise TtsError(f"libespeak-ng ({library_path}) already speaks with the data folder "
                           f"{loaded.data_path}, not {data_path}")
        return loaded

    @property
    def name(self) -> str:
        return f"the espeak-ng library ({self._path})"

    def render(self, text: str, voice: str,
               words_per_minute: int | None = None) -> tuple[NDArray[np.int16], int]:
        """`text` in `voice` at the library's rate; `words_per_minute` speaks this one text faster
        or slower (tests vary speakers with it)."""
        data = text.encode("utf-8") + b"\0"
        with _ENGINE_LOCK:
            if voice != self._voice:
                if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                    raise VoiceNotFound(f"{self.name} has no voice {voice!r}")
                self._voice = voice
            self._chunks = []
            if words_per_minute is not None:
                self._lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
            try:
                status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                                None, None)
                self._lib.espeak_Synchronize()
            finally:
                if words_per_minute is not None:
                    self._lib.espeak_SetParameter(_PARAM_RATE, _DEFAULT_RATE, 0)
            chunks, self._chunks = self._chunks, []
        if status != _EE_OK:
            raise TtsError(f"{self.name} failed on a text of {len(text)} characters (status {status})")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return samples, self.rate

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
        return 0  # 0: go on synthesising


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetPunctuationList.argtypes = [ctypes.c_wchar_p]
    lib.espeak_SetPunctuationList.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int


class EspeakSynthesizer:
    """Say's voices from espeak-ng (SpeechSynthesizer).

    The engine is chosen on the first synthesis: the wheel's library (or `library_path` /
    `data_path`), else the `program` found on PATH (None: no fall-back). When neither works,
    every synthesis raises TtsError saying so. `renderer` skips the choice (tests plug one in).
    """

    def __init__(self, *, library_path: str | None = None, data_path: str | None = None,
                 program: str | None = "espeak-ng", timeout_s: float = DEFAULT_TIMEOUT_S,
                 renderer: Renderer | None = None) -> None:
        self._library_path = library_path
        self._data_path = data_path
        self._program = program
        self._timeout_s = timeout_s
        self._choose_lock = threading.Lock()
        self._chosen: Renderer | TtsError | None = renderer

    @property
    def engine(self) -> str:
        """Which engine speaks: the library or the program, with its path. Raises TtsError."""
        return self._renderer().name

    def synthesize(self, text: str, language: str | None) -> Speech:
        voice, fell_back = voice_for(language)
        honoured = DEFAULT_LANGUAGE if fell_back else canonical_language(language) or DEFAULT_LANGUAGE
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise TtsError(f"a text of {size} bytes is longer than the {MAX_TEXT_BYTES} bytes "
                           "(UTF-8) text-to-speech speaks")
        text = _UNSPEAKABLE.sub(" ", text)  # NUL would end the C string; U+0001 starts a command
        if not text.strip():
            return Speech(np.zeros(0, dtype=np.int16), voice, honoured, fell_back)
        renderer = self._renderer()
        try:
            samples, rate = renderer.render(text, voice)
        except VoiceNotFound:
            if voice == DEFAULT_VOICE:
                raise
            voice, honoured, fell_back = DEFAULT_VOICE, DEFAULT_LANGUAGE, True
            samples, rate = renderer.render(text, voice)
        return Speech(to_phone_audio(samples, rate), voice, honoured, fell_back)

    def _renderer(self) -> Renderer:
        with self._choose_lock:
            if self._chosen is None:
                self._chosen = self._choose()
            if isinstance(self._chosen, TtsError):
                raise self._chosen
            return self._chosen

    def _choose(self) -> Renderer | TtsError:
        try:
            return self._load_library()
        except (OSError, RuntimeError, ImportError, TtsError) as exc:
            library_problem = f"{type(exc).__name__}: {exc}"
        found = shutil.which(self._program) if self._program else None
        if found is None:
            return TtsError(
                f"no text-to-speech engine: the espeak-ng library did not load ({library_problem}) "
                f"and the espeak-ng program is not installed; reinstall percl's dependencies "
                f"(pip install espeakng-loader) or install Debian's espeak-ng (apt-get install espeak-ng)")
        log.warning("the espeak-ng library did not load (%s): speaking with %s", library_problem, found)
        return ProgramRenderer(found, timeout_s=self._timeout_s)

    def _load_library(self) -> LibraryRenderer:
        library_path, data_path = self._library_path, self._data_path
        if library_path is None or data_path is None:
            import espeakng_loader  # here, not at the top: a broken wheel must leave the fall-back

            library_path = library_path or espeakng_loader.get_library_path()
            data_path = data_path or espeakng_loader.get_data_path()
        return LibraryRenderer.load(str(library_path), str(data_path))


_default: SpeechSynthesizer | None = None
_default_lock = threading.Lock()


def default_synthesizer() -> SpeechSynthesizer:
    """The process's synthesizer: espeak-ng behind a 32 MiB cache, shared by every caller."""
    global _default
    with _default_lock:  # two threads asking first must still share one cache
        if _default is None:
            _default = CachedSynthesizer(EspeakSynthesizer())
        return _default
