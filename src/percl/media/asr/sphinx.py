"""PocketsphinxRecognizer: CMU pocketsphinx with the en-US model its PyPI wheel ships.

Why it looks like this:

- The model is 16 kHz only (``Decoder(samprate=8000)`` fails), so telephone audio is upsampled with
  soxr; that adds no information above 4 kHz, but the model's features then line up.
- The decoder needs silence around the speech to settle its noise estimate: trimmed audio lost
  accuracy (29-60% instead of 79%), so ``pad_ms`` of silence goes before and after.
- The model takes ~0.2 s and ~40 MB to load: once per recogniser, at its first transcription, never
  at import. One decoder serves every grammar: each phrase set becomes a JSGF search, kept in a
  bounded LRU keyed by the grammar text (``max_grammars``, and MAX_CACHED_WORDS word occurrences
  in all: a search costs ~11 KB per word); free-form decoding uses the model's language model. A
  grammar of more than MAX_GRAMMAR_WORDS words is decoded free-form, with a warning. The decoder
  is not thread-safe, so one lock serialises transcriptions (a 1 s utterance takes ~20 ms against a
  grammar, ~0.5 s free-form).
- Against a grammar each utterance is decoded twice (each pass ~1-2% of real time): by the plain
  Viterbi search, whose words are the answer (measured on espeak speech over a telephone channel:
  45/60 digits and 46/60 commands right, against 40 and 34 for the lattice search alone), and by
  the lattice (best path) search, which gives a posterior and hears nothing in noise where Viterbi
  always picks some sentence. Confidence (1..100 when something was heard):
  both agree -> the lattice posterior x 2 (a clear in-grammar utterance measures 0.45-0.50, as
  the lattice keeps near-identical paths apart), capped at 100; they disagree -> 20; the lattice
  heard nothing -> 10 (noise, or speech far from every sentence). Free-form: the language-model
  search's posterior x 2, capped. It is how sure the decoder is among the sentences it may hear,
  not proof the caller said one of them.
- Audio below SILENCE_DBFS is nothing heard without decoding: a grammar's Viterbi search picks a
  sentence even in digital silence.
- `transcribe` never raises: a failure (the model cannot load, bad input) is logged and reads as
  nothing heard, which GetSpeech turns into noInput/noMatch like a silent caller.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import soxr

from percl.media.asr.base import NOTHING, SAMPLE_RATE, Pcm, Recognized
from percl.media.asr.jsgf import MAX_GRAMMAR_WORDS, Vocabulary, build_jsgf
from percl.media.asr.rules import grammar_jsgf
from percl.media.grammar import Grammar

log = logging.getLogger(__name__)

MODEL_RATE = 16000
DEFAULT_PAD_MS = 400
DEFAULT_MAX_GRAMMARS = 32
DEFAULT_MAX_SECONDS = 60.0
# Words added to the dictionary (spelled-out unknown words) stay for the decoder's lifetime: a cap
# keeps a stream of odd grammars from growing it without end; past it, such words are dropped.
MAX_ADDED_WORDS = 5000
MAX_CACHED_WORDS = 20_000  # word occurrences of all cached grammar searches (~220 MB at the most)
# Audio quieter than this (RMS, dB below full scale) is silence: not decoded, since a grammar's
# Viterbi search always picks a sentence, even in digital silence. Speech on a line is -30..-10.
SILENCE_DBFS = -55.0
# Quiet ends of an utterance are trimmed to KEEP_MS (`_trimmed`): 10 ms blocks below
# TRIM_LEVEL (-50 dBFS, RMS) are quiet.
TRIM_FRAME = 80
TRIM_LEVEL = 32768.0 * 10.0 ** (-50.0 / 20.0)
KEEP_MS = 100
DISAGREE_CONFIDENCE = 20
LATTICE_EMPTY_CONFIDENCE = 10


def _load_decoder() -> Any:
    """The decoder with the wheel's default en-US model; its own log (C, on stderr) only for fatal errors."""
    from pocketsphinx import Decoder  # deferred: importing percl.media.asr must not load the model

    return Decoder(loglevel="FATAL")


class PocketsphinxRecognizer:
    """SpeechToText on pocketsphinx. Thread-safe; `transcribe` never raises.

    `max_seconds`: audio past this is not decoded (a GetSpeech utterance lasts seconds).
    """

    def __init__(
        self,
        *,
        pad_ms: int = DEFAULT_PAD_MS,
        max_grammars: int = DEFAULT_MAX_GRAMMARS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        self.pad_ms = pad_ms
        self.max_grammars = max_grammars
        self.max_seconds = max_seconds
        self._lock = threading.Lock()
        self._decoder: Any = None
        self._failed = False
        self._lm_search = ""
        self._searches: OrderedDict[str, int] = OrderedDict()  # search name -> grammar words
        self._cached_words = 0
        self._added_words = 0

    def transcribe(self, pcm: Pcm, phrases: Sequence[str] | None) -> Recognized:
        """Recognise one utterance of 8 kHz audio, constrained to `phrases` (None: free-form)."""
        return self._guarded(pcm, phrases)

    def transcribe_grammar(self, pcm: Pcm, grammar: Grammar) -> Recognized:
        """Recognise one utterance against a compiled grammar, however many sentences it has.

        Its listed sentences when it has at most 500 (as `transcribe`), else its rules as JSGF
        (DIG4, ANY_DIG, ALPHNUM6...: rules.py), else (GARBAGE) free-form. Never raises.
        """
        listed = grammar.phrases()
        return self._guarded(pcm, listed if listed is not None else grammar)

    def _guarded(self, pcm: Pcm, source: Sequence[str] | Grammar | None) -> Recognized:
        """`_transcribe` under the lock; any failure is logged and heard as nothing."""
        try:
            with self._lock:
                return self._transcribe(pcm, source)
        except Exception:
            log.exception("speech recognition failed; treating the audio as nothing heard")
            return NOTHING

    def _transcribe(self, pcm: Pcm, source: Sequence[str] | Grammar | None) -> Recognized:
        audio = np.asarray(pcm).ravel()[: int(self.max_seconds * SAMPLE_RATE)].astype(np.int16, copy=False)
        decoder = self._load()
        if decoder is None or _is_silence(audio):
            return NOTHING
        samples = self._prepare(audio).tobytes()
        if isinstance(source, Grammar):
            vocabulary = grammar_jsgf(source, decoder.lookup_word)
            if vocabulary is None:  # GARBAGE or the like: only the language model can listen
                source = None
        elif source is not None:
            vocabulary = build_jsgf(source, decoder.lookup_word)
            if vocabulary is not None and vocabulary.words > MAX_GRAMMAR_WORDS:
                log.warning("%d grammar words are more than the %d a search is built for: decoding "
                            "free-form", vocabulary.words, MAX_GRAMMAR_WORDS)
                source = None
        if source is None:
            text, posterior = _decode(decoder, self._lm_search, samples)
            return Recognized(text, confidence_from_posterior(posterior)) if text else NOTHING
        if vocabulary is None:
            return NOTHING
        searches = self._grammar_searches(decoder, vocabulary)
        text, _ = _decode(decoder, searches[0], samples)
        if not text:
            return NOTHING
        checked, posterior = _decode(decoder, searches[1], samples)
        if not checked:
            return Recognized(text, LATTICE_EMPTY_CONFIDENCE)
        if checked != text:
            return Recognized(text, DISAGREE_CONFIDENCE)
        return Recognized(text, confidence_from_posterior(posterior))

    def _load(self) -> Any:
        if self._decoder is None and not self._failed:
            try:
                self._decoder = _load_decoder()
            except Exception:
                self._failed = True  # logged once; every later call hears nothing
                log.exception("cannot load the pocketsphinx model; speech recognition hears nothing")
                return None
            self._lm_search = self._decoder.current_search()
        return self._decoder

    def _prepare(self, audio: Pcm) -> Pcm:
        """8 kHz -> 16 kHz, quiet ends trimmed, with silence padding before and after."""
        upsampled = np.asarray(soxr.resample(_trimmed(audio), SAMPLE_RATE, MODEL_RATE),
                               dtype=np.int16)
        pad = np.zeros(MODEL_RATE * self.pad_ms // 1000, dtype=np.int16)
        return np.concatenate([pad, upsampled, pad])

    def _grammar_searches(self, decoder: Any, vocabulary: Vocabulary) -> tuple[str, str]:
        """(Viterbi search, lattice search) for `vocabulary`, built or taken from the LRU."""
        name = "g" + hashlib.sha1(vocabulary.jsgf.encode()).hexdigest()[:20]
        if name in self._searches:
            self._searches.move_to_end(name)
        else:
            self._add_words(decoder, vocabulary.new_words)
            # A search reads `bestpath` from the configuration when it is created.
            for suffix, bestpath in (("v", False), ("p", True)):
                decoder.config["bestpath"] = bestpath
                decoder.add_jsgf_string(name + suffix, vocabulary.jsgf)
            decoder.config["bestpath"] = True
            self._searches[name] = vocabulary.words
            self._cached_words += vocabulary.words
        while len(self._searches) > self.max_grammars or self._cached_words > MAX_CACHED_WORDS:
            evicted, words = self._searches.popitem(last=False)
            self._cached_words -= words
            decoder.activate_search(self._lm_search)  # never remove the active search
            for suffix in ("v", "p"):
                decoder.remove_search(evicted + suffix)
        return name + "v", name + "p"

    def _add_words(self, decoder: Any, words: dict[str, str]) -> None:
        for word, phones in words.items():
            if decoder.lookup_word(word) is None and self._added_words < MAX_ADDED_WORDS:
                decoder.add_word(word, phones, False)
                self._added_words += 1


def _trimmed(audio: Pcm) -> Pcm:
    """`audio` without the quiet before and after its speech, past `KEEP_MS` of it.

    Why: a voice-activity detector ends an utterance after a hangover of silence (the ear's is
    ~650 ms), and a long quiet tail changes what the decoder picks ("five five one two" with
    the tail came out as "nine nine one two", without it as said)."""
    frames = len(audio) // TRIM_FRAME
    if frames == 0:
        return audio
    blocks = audio[: frames * TRIM_FRAME].astype(np.float64).reshape(frames, TRIM_FRAME)
    loud = np.flatnonzero(np.sqrt(np.mean(blocks * blocks, axis=1)) >= TRIM_LEVEL)
    if loud.size == 0:
        return audio
    keep = KEEP_MS * SAMPLE_RATE // 1000
    start = max(0, int(loud[0]) * TRIM_FRAME - keep)
    end = min(len(audio), (int(loud[-1]) + 1) * TRIM_FRAME + keep)
    return audio[start:end]


def _is_silence(audio: Pcm) -> bool:
    if audio.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(audio.astype(np.float64)))))
    return bool(rms < 32768.0 * 10.0 ** (SILENCE_DBFS / 20.0))


def _decode(decoder: Any, search: str, samples: bytes) -> tuple[str, float]:
    """(words, lattice posterior) of one whole utterance with `search`; ("", 0.0) for nothing."""
    decoder.activate_search(search)
    decoder.start_utt()
    try:
        decoder.process_raw(samples, full_utt=True)
    finally:  # an utterance left open makes every later start_utt fail: the decoder would be lost
        decoder.end_utt()
    hyp = decoder.hyp()
    if hyp is None:
        return "", 0.0
    return " ".join(hyp.hypstr.split()), float(hyp.prob)


def confidence_from_posterior(posterior: float) -> int:
    """A lattice posterior (0..1; ~0.5 for a clear utterance) as 1..100: 2 x posterior, capped."""
    return int(min(100, max(1, round(200.0 * posterior))))


_default: PocketsphinxRecognizer | None = None
_default_lock = threading.Lock()


def default_recognizer() -> PocketsphinxRecognizer:
    """The process-wide recogniser (its model loads at the first transcription, once)."""
    global _default
    with _default_lock:  # two threads asking first must still share one model
        if _default is None:
            _default = PocketsphinxRecognizer()
        return _default
