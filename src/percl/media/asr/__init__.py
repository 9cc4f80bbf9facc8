"""Speech recognition on audio: what a caller said during GetSpeech, as text for the grammar matcher.

    recognizer = default_recognizer()                    # shared; loads the model on first use
    heard = recognizer.transcribe(pcm, grammar.phrases())  # Recognized(text, confidence)
    outcome = grammar.recognize(heard.text)
    heard = recognizer.transcribe_grammar(pcm, grammar)  # also grammars too large to list (DIG4)

`transcribe` takes 8 kHz audio of one utterance and the sentences the grammar accepts (decoding
constrained to them), or None for free-form decoding with pocketsphinx's language model, which is
far less accurate (see docs/BENCHMARKS.md, "Speech recognition"). It never raises.
"""

from percl.media.asr.base import Pcm, Recognized, SpeechToText
from percl.media.asr.sphinx import PocketsphinxRecognizer, default_recognizer

__all__ = ["Pcm", "PocketsphinxRecognizer", "Recognized", "SpeechToText", "default_recognizer"]
