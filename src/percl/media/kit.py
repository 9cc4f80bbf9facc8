"""The engines the simulated network's audio fidelity is handed (its AudioKit): speech from text,
Play files fetched and decoded, text from speech.

`MediaKit` puts them together over the platform's ports: the TTS engine (percl.media.tts), the
Fetcher (the platform's deadline, byte cap, transport and fault injection, as media/probe.py
uses it) with the audio decoder (percl.media.audio.decode), and the recogniser (percl.media.asr).
app.py builds it with the real engines; tests hand in doubles.

Why the files have their own cache: a looping Play, a hold music or a conference's wait audio
plays the same URL again and again, and fetching and decoding it each time would put the app's
server and the decoder on every loop. Cached per URL, bounded by the bytes of decoded audio, kept
as long as the file's Cache-Control allows (no-store, no-cache and private: not kept; s-maxage,
else max-age: that long; no header: DEFAULT_TTL_S).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from percl.domain.clock import Clock
from percl.engine.ports import Fetched, Fetcher, SpeechGrammar
from percl.media.audio.pcm import Pcm
from percl.media.grammar.port import CompiledGrammar

if TYPE_CHECKING:  # the engines load in default_kit: a symbolic platform never imports them
    from percl.media.asr import SpeechToText
    from percl.media.tts import SpeechSynthesizer

log = logging.getLogger("percl.media.kit")

#: How long a file served without Cache-Control stays cached (docs/DECISIONS.md, issue 12).
DEFAULT_TTL_S = 300.0
#: Decoded audio the file cache holds at most (16-bit 8 kHz: about 70 minutes).
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
#: FreeClimb's Play limit (100 MB): PERCL_MAX_PLAY_BYTES.
DEFAULT_MAX_FILE_BYTES = 100 * 1000 * 1000

_DIRECTIVE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?(\d+)\"?)?\s*")


class AudioUnavailable(Exception):
    """An audio file cannot be played (missing, too big, too long, undecodable...), or speech
    cannot be synthesised. The message is the reason, for a log line."""


#: Audio file bytes -> samples (percl.media.audio.decode.decode_audio); raises ValueError
#: (AudioDecodeError) saying what is wrong with the file.
Decoder = Callable[[bytes], Pcm]

__all__ = ["AudioUnavailable", "FileCache", "MediaKit", "Pcm", "cache_ttl", "default_kit"]


class WorkCounter(Protocol):
    """Counts work in flight outside the event loop (percl.testing's WorkTracker), so a test's
    `settle()` waits for a file being decoded in a worker thread."""

    def enter(self) -> None: ...
    def leave(self) -> None: ...


def cache_ttl(cache_control: str | None, default_s: float = DEFAULT_TTL_S) -> float:
    """Seconds a fetched file may be reused, from its Cache-Control header (0: do not keep).

    percl keeps one copy for every call of every account, like a shared cache (RFC 9111):
    s-maxage wins over max-age, and private, no-store and no-cache (percl never revalidates)
    mean not kept. Directives it does not know are ignored."""
    if cache_control is None:
        return default_s
    ages: dict[str, float] = {}
    for part in cache_control.split(","):
        found = _DIRECTIVE.fullmatch(part)
        if found is None:
            continue
        name, value = found[1].lower(), found[2]
        if name in ("no-store", "no-cache", "private"):
            return 0.0
        if name in ("max-age", "s-maxage") and value is not None:
            ages[name] = float(value)
    return ages.get("s-maxage", ages.get("max-age", default_s))


@dataclass(frozen=True, slots=True)
class _Cached:
    pcm: Pcm
    expires: float  # clock time


class FileCache:
    """Decoded files by URL: least recently used out first past `max_bytes`; an entry past its
    expiry is gone."""

    def __init__(self, clock: Clock, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._clock = clock
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, _Cached] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, url: str) -> Pcm | None:
        entry = self._entries.get(url)
        if entry is None:
            return None
        if entry.expires <= self._clock.now():
            self._drop(url)
            return None
        self._entries.move_to_end(url)
        return entry.pcm

    def put(self, url: str, pcm: Pcm, ttl_s: float) -> None:
        """Keep `pcm` for `ttl_s` seconds (not at all when 0, or when larger than the cache)."""
        if url in self._entries:
            self._drop(url)
        if ttl_s <= 0 or pcm.nbytes > self._max_bytes:
            return
        pcm.setflags(write=False)  # shared by every call that plays it
        self._entries[url] = _Cached(pcm, self._clock.now() + ttl_s)
        self._bytes += pcm.nbytes
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, url: str) -> None:
        self._bytes -= self._entries.pop(url).pcm.nbytes


class MediaKit:
    """The AudioKit of the simulated network's audio fidelity (telephony/sim/audio/kit.py).

    `speech` and `transcribe` are synchronous (the engines cache and lock themselves); `file`
    fetches through `fetcher` reading at most `max_file_bytes`, decodes in a worker thread
    (counted by `tracker`) and caches in a FileCache of `cache_bytes`.
    """

    def __init__(self, *, synthesizer: SpeechSynthesizer, recognizer: SpeechToText,
                 fetcher: Fetcher,
                 decode: Decoder, clock: Clock, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 cache_bytes: int = DEFAULT_CACHE_BYTES,
                 tracker: WorkCounter | None = None) -> None:
        self._tts = synthesizer
        self._asr = recognizer
        self._fetcher = fetcher
        self._decode = decode
        self._max_file_bytes = max_file_bytes
        self._tracker = tracker
        self.files = FileCache(clock, cache_bytes)
        self._warned: set[str | None] = set()  # languages whose fallback was logged

    def speech(self, text: str, language: str | None) -> Pcm:
        """The TTS audio of `text` in `language` (None: en-US). A language without a voice is
        spoken in en-US, with one warning per language. Raises TtsError when the engine fails."""
        spoken = self._tts.synthesize(text, language)
        if spoken.fell_back and language not in self._warned:
            self._warned.add(language)
            log.warning("Say: no voice for language %r; speaking it in %s", language,
                        spoken.language)
        return spoken.pcm

    async def file(self, url: str) -> Pcm:
        """The audio of the file at `url`. Raises AudioUnavailable saying why it cannot be
        played (not fetched, larger than the cap, not audio percl decodes, too long)."""
        cached = self.files.get(url)
        if cached is not None:
            return cached
        fetched = await self._fetcher.fetch(url, max_bytes=self._max_file_bytes)
        self._check(fetched)
        pcm = await self._decoded(fetched.body)
        self.files.put(url, pcm, cache_ttl(fetched.cache_control))
        return pcm

    def transcribe(self, pcm: Pcm, grammar: SpeechGrammar | None) -> tuple[str, int]:
        """The words of one utterance and a confidence 0..100 ("" and 0: nothing heard). A grammar
        this package compiled is decoded by its sentences or, past 500 of them (DIG4, ANY_DIG,
        ALPHNUM6), by its rules; any other by its sentences; None: free-form."""
        if isinstance(grammar, CompiledGrammar):
            heard = self._asr.transcribe_grammar(pcm, grammar.grammar)
        else:
            heard = self._asr.transcribe(pcm, None if grammar is None else grammar.phrases())
        return heard.text, heard.confidence

    def _check(self, fetched: Fetched) -> None:
        """Raise AudioUnavailable unless `fetched` holds a whole file."""
        cap = self._max_file_bytes
        if fetched.size is not None and fetched.size > cap:
            raise AudioUnavailable(f"the file declares {fetched.size} bytes, more than the "
                                   f"{cap} percl plays (PERCL_MAX_PLAY_BYTES)")
        if fetched.truncated:
            raise AudioUnavailable(f"the file is larger than the {cap} bytes percl plays "
                                   "(PERCL_MAX_PLAY_BYTES)")
        if not fetched.ok:
            raise AudioUnavailable(f"cannot fetch it: {fetched.error or 'no answer'}")
        if not fetched.body:
            raise AudioUnavailable("the file is empty")

    async def _decoded(self, data: bytes) -> Pcm:
        """`data` decoded in a worker thread (an MP3 of minutes takes a while: not on the loop)."""
        tracker = self._tracker
        if tracker is not None:
            tracker.enter()
        try:
            return await asyncio.to_thread(self._decode, data)
        except ValueError as exc:  # AudioDecodeError
            raise AudioUnavailable(f"cannot decode it: {exc}") from None
        finally:
            if tracker is not None:
                tracker.leave()


def default_kit(fetcher: Fetcher, clock: Clock, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                tracker: WorkCounter | None = None) -> MediaKit:
    """The kit of the default engines: espeak-ng (cached), the fetcher with decode_audio (WAV,
    MP3; at most 600 s), pocketsphinx. The engines load their voices and model on first use."""
    # Imported here: pocketsphinx, espeak-ng and miniaudio take ~0.5 s to import, which a
    # platform (or a test kit) of symbolic media never needs.
    from percl.media.asr import default_recognizer
    from percl.media.audio.decode import decode_audio
    from percl.media.tts import default_synthesizer

    return MediaKit(synthesizer=default_synthesizer(), recognizer=default_recognizer(),
                    fetcher=fetcher, decode=decode_audio, clock=clock,
                    max_file_bytes=max_file_bytes, tracker=tracker)
