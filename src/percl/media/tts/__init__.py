"""Text-to-speech for Say: espeak-ng voices for FreeClimb's languages, 8 kHz audio, a bounded cache.

    speech = default_synthesizer().synthesize("Press 1 for sales.", "en-US")
    speech.pcm        # int16 mono at 8,000 Hz, 50-100 ms of silence at each end
    speech.fell_back  # True when the language had no voice and en-US spoke (log it)
"""

from percl.media.tts.cache import DEFAULT_MAX_BYTES, CachedSynthesizer, CacheStats
from percl.media.tts.espeak import EspeakSynthesizer, default_synthesizer
from percl.media.tts.speech import SAMPLE_RATE, Pcm, Speech, SpeechSynthesizer, TtsError, VoiceNotFound
from percl.media.tts.voices import DEFAULT_LANGUAGE, VOICES, canonical_language, voice_for

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_MAX_BYTES",
    "SAMPLE_RATE",
    "VOICES",
    "CacheStats",
    "CachedSynthesizer",
    "EspeakSynthesizer",
    "Pcm",
    "Speech",
    "SpeechSynthesizer",
    "TtsError",
    "VoiceNotFound",
    "canonical_language",
    "default_synthesizer",
    "voice_for",
]
