"""Speech recognition (percl.media.asr): real-time factor and accuracy on synthetic telephone speech.

Speech is espeak-ng through a telephone channel (8 kHz, 300-3,400 Hz, mu-law round trip), several
voice variants and speeds from a seeded generator (bench/speech.py). Printed:

- real-time factor (decode CPU seconds / audio seconds) against a grammar and free-form;
- accuracy (exact text) on yes/no (two words, then the 288 VERSAY_YESNO sentences), the ten
  digits (DIG1), 4-digit PINs (DIG4, decoded with its rules) and a 10-command IVR grammar, and
  the free-form word error rate.

    .venv/bin/python bench/media_asr.py [--count 60] [--seed 12]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.speech import COMMANDS, DIGITS, YES_NO, Spoken, spoken_set, telephone_speech
from percl.media.asr import PocketsphinxRecognizer
from percl.media.grammar import Grammar, builtin_grammar


def word_errors(ref: str, hyp: str) -> int:
    """Levenshtein distance over words."""
    a, b = ref.split(), hyp.split()
    row = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, wb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (wa != wb))
    return row[-1]


def run(recognizer: PocketsphinxRecognizer, name: str, items: Sequence[Spoken],
        phrases: Sequence[str] | None, grammar: Grammar | None = None) -> None:
    """`grammar`: also count answers whose recognitionResult is right ("yeah" for "yes")."""
    right = meant = errors = words = 0
    audio = decode = 0.0
    for s in items:
        started = time.process_time()  # CPU seconds: the machine is shared, wall time is not ours
        heard = recognizer.transcribe(s.pcm, phrases)
        decode += time.process_time() - started
        audio += len(s.pcm) / 8000
        right += heard.text == s.text
        if grammar is not None:
            meant += grammar.recognize(heard.text).result == grammar.recognize(s.text).result
        errors += word_errors(s.text, heard.text)
        words += len(s.text.split())
    mode = "free-form" if phrases is None else f"{len(phrases)} phrases"
    result = f"  result right {100 * meant / len(items):5.1f}%" if grammar is not None else ""
    print(f"{name:<22} {mode:<12} exact {right}/{len(items)} = {100 * right / len(items):5.1f}%  "
          f"WER {100 * errors / words:5.1f}%  RTF {decode / audio:.3f} CPU ({audio:.1f} s audio){result}")


def pins(recognizer: PocketsphinxRecognizer, count: int, seed: int) -> None:
    """DIG4 (10,000 sentences: decoded with its rules, transcribe_grammar): exact PINs and digits."""
    grammar, rng = builtin_grammar("DIG4"), random.Random(seed)
    exact = digits = 0
    audio = decode = 0.0
    for _ in range(count):
        pin = "".join(str(rng.randrange(10)) for _ in range(4))
        pcm = telephone_speech(" ".join(DIGITS[int(d)] for d in pin))
        started = time.process_time()
        heard = recognizer.transcribe_grammar(pcm, grammar)
        decode += time.process_time() - started
        audio += len(pcm) / 8000
        result = grammar.recognize(heard.text).result
        exact += result == pin
        digits += sum(a == b for a, b in zip(result, pin, strict=False))
    print(f"{'PINs (DIG4)':<22} {'JSGF rules':<12} exact {exact}/{count} = {100 * exact / count:5.1f}%  "
          f"digits {100 * digits / (4 * count):5.1f}%  RTF {decode / audio:.3f} CPU ({audio:.1f} s audio)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="utterances per set")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="a smoke run (count 10)")
    args = parser.parse_args()
    if args.quick:
        args.count = 10
    recognizer = PocketsphinxRecognizer()
    started = time.perf_counter()
    recognizer.transcribe(spoken_set(YES_NO, 1, 0)[0].pcm, YES_NO)
    print(f"model load + first decode: {time.perf_counter() - started:.2f} s")
    yes_no_grammar = builtin_grammar("VERSAY_YESNO")
    digits, versay = builtin_grammar("DIG1").phrases(), yes_no_grammar.phrases()
    assert digits is not None and versay is not None
    yes_no, numbers, commands = (spoken_set(items, args.count, args.seed)
                                 for items in (YES_NO, DIGITS, COMMANDS))
    run(recognizer, "yes/no", yes_no, YES_NO)
    run(recognizer, "yes/no (VERSAY_YESNO)", yes_no, versay, yes_no_grammar)
    run(recognizer, "digits (DIG1)", numbers, digits)
    run(recognizer, "10 commands", commands, COMMANDS)
    pins(recognizer, args.count // 2, args.seed)
    run(recognizer, "10 commands", commands[: max(10, args.count // 3)], None)
    run(recognizer, "digits (DIG1)", numbers[: max(10, args.count // 3)], None)


if __name__ == "__main__":
    main()
