"""TranscribeUtterance's engines: word error rate on ten spoken sentences (voicemail-like).

Each sentence is spoken by espeak-ng at 8 kHz through the telephone channel (300-3,400 Hz band,
mu-law round trip: bench/speech.py), with 0.3 s of silence around it, written as the WAV a
recording makes, and transcribed by the engine the settings choose (percl.media.transcribe):
pocketsphinx free-form by default, or `--url` (an OpenAI-compatible /v1/audio/transcriptions
endpoint, e.g. a local Whisper server). Printed: each sentence and what came back, the word
error rate (word-level Levenshtein distance over reference words, after lower-casing and dropping
punctuation) and the real-time factor (wall seconds / audio seconds).

    .venv/bin/python bench/transcribe_accuracy.py [--url URL --model NAME] [--voice en-us]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import machine_banner
from bench.media_asr import word_errors
from bench.speech import telephone_speech
from percl.media.audio.wav import wav_bytes
from percl.media.transcribe import transcriber_for

SENTENCES = (
    "please call me back",
    "this is john calling about my order",
    "i will be late for the meeting today",
    "my account number is one two three four",
    "can you send me the invoice by email",
    "the package arrived yesterday afternoon",
    "i would like to cancel my appointment",
    "thank you for your help",
    "please call me back tomorrow morning",
    "the weather is nice today",
)

LEAD = np.zeros(2400, dtype=np.int16)  # 0.3 s: pocketsphinx needs lead-in silence


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="an OpenAI-compatible transcription endpoint")
    parser.add_argument("--model", default="whisper-1")
    parser.add_argument("--voice", default="en-us")
    args = parser.parse_args()
    engine = transcriber_for(args.url, args.model)
    print(machine_banner(f"transcription accuracy ({args.url or 'pocketsphinx free-form'})"))
    await engine.transcribe(wav_bytes([np.concatenate([LEAD, LEAD])]))  # load the model
    errors = words = exact = 0
    audio_s = wall_s = 0.0
    for sentence in SENTENCES:
        pcm = np.concatenate([LEAD, telephone_speech(sentence, voice=args.voice), LEAD])
        started = time.perf_counter()
        heard = normalised(await engine.transcribe(wav_bytes([pcm])))
        wall_s += time.perf_counter() - started
        audio_s += len(pcm) / 8000
        wrong = word_errors(sentence, heard)
        errors, words, exact = errors + wrong, words + len(sentence.split()), exact + (wrong == 0)
        print(f"  {sentence!r:45} -> {heard!r}")
    print(f"WER {100 * errors / words:.1f}% ({errors} errors / {words} words), "
          f"{exact}/{len(SENTENCES)} sentences exact, RTF {wall_s / audio_s:.3f} "
          f"({audio_s:.1f} s of audio)")


if __name__ == "__main__":
    asyncio.run(main())
