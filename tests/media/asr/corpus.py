"""Seeded sets of spoken grammar items, for the recogniser's accuracy tests and bench/media_asr.py."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tests.media.asr.speech import Pcm, telephone_speech

YES_NO = ("yes", "no")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMANDS = (
    "check my balance", "pay my bill", "talk to an agent", "report an outage", "start service",
    "stop service", "change my address", "hear the menu again", "billing question", "technical support",
)  # fmt: skip
VOICES = ("en-us", "en-us+m3", "en-us+f2", "en-us+m5", "en-us+f4")


@dataclass(frozen=True)
class Spoken:
    text: str
    voice: str
    words_per_minute: int
    pcm: Pcm


def spoken_set(items: Sequence[str], count: int, seed: int) -> list[Spoken]:
    """`count` utterances cycling through `items`, each with a seeded voice variant and speed."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text = items[i % len(items)]
        voice, wpm = rng.choice(VOICES), rng.randrange(130, 191, 10)
        out.append(Spoken(text, voice, wpm, telephone_speech(text, words_per_minute=wpm, voice=voice)))
    return out
