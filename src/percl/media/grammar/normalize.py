"""Words as the recogniser compares them: one normalisation for grammar tokens and for utterances.

On the simulated network a caller's speech arrives as text, so "recognition" is comparing two word
sequences. Both sides go through the same steps, which is what makes "Yes, please!" match the
grammar tokens ``yes please``:

- case-fold; apostrophes vanish (``ma'am`` -> ``maam``, as FreeClimb's sample grammars spell it);
  every other punctuation mark separates words;
- a run of digits is one word per digit (``5512`` -> ``5 5 1 2``), so a PIN said as a number matches
  a grammar of single digits;
- each word has a *key* used for comparison and keeps its *display* form for the recognised text:
  the digit words ``zero``..``nine`` and ``oh`` have the numeral as key, so ``five`` matches a
  grammar token ``5`` and the other way round.

DTMF input (and DTMF-mode grammars) is a sequence of keypad symbols, one token per symbol.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from percl.media.grammar.errors import GrammarError

DIGIT_WORDS: dict[str, str] = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
DTMF_SYMBOLS = frozenset("0123456789*#ABCD")
# Spoken names of keypad symbols, for saying DTMF-grammar tokens aloud (used by the builtins).
SPOKEN_KEYS: dict[str, str] = {"star": "*", "pound": "#", "hash": "#"}

_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_SEPARATORS = re.compile(r"[\W_]+")
_DIGIT_RUN = re.compile(r"(\d+)")


@dataclass(frozen=True, slots=True)
class Word:
    """One token: `key` is what matching compares, `display` is what the recognised text shows."""

    key: str
    display: str


def normalize_text(text: str) -> str:
    """The utterance as the recognition result reports it: case-folded, punctuation-free, single-spaced."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_SEPARATORS.split(_APOSTROPHES.sub("", folded))).strip()


def voice_words(text: str) -> tuple[Word, ...]:
    """Split speech (an utterance or a grammar token's text) into comparable words."""
    words: list[Word] = []
    for chunk in normalize_text(text).split():
        for part in _DIGIT_RUN.split(chunk):
            if not part:
                continue
            if part.isdecimal():
                # int() maps other scripts' digits (e.g. Arabic-Indic) to 0-9 as well.
                words.extend(Word(str(int(ch)), ch) for ch in part)
            else:
                words.append(Word(DIGIT_WORDS.get(part, part), part))
    return tuple(words)


def dtmf_words(digits: str) -> tuple[Word, ...]:
    """Keypad input (``"12#"``) as one word per symbol; whitespace is ignored.

    Characters that are not DTMF symbols are dropped: a keypad cannot send them.
    """
    return tuple(Word(ch, ch) for ch in digits.upper() if ch in DTMF_SYMBOLS)


def dtmf_grammar_words(text: str) -> tuple[Word, ...]:
    """Tokens of a DTMF-mode grammar: keypad symbols, also written as words (``star``, ``pound``, ``one``).

    Raises GrammarError for a token that is no keypad symbol.
    """
    words: list[Word] = []
    for chunk in text.split():
        lowered = chunk.casefold()
        spoken = SPOKEN_KEYS.get(lowered) or DIGIT_WORDS.get(lowered)
        if spoken is not None:
            words.append(Word(spoken, spoken))
        elif all(ch in DTMF_SYMBOLS for ch in chunk.upper()):
            words.extend(dtmf_words(chunk))
        else:
            raise GrammarError(f"DTMF grammar token {chunk!r} is not a keypad symbol (0-9, *, #, A-D)")
    return tuple(words)
