"""From a grammar's sentences to a JSGF grammar over words the decoder's dictionary knows.

Sentences arrive as Grammar.phrases() spells them, or as any text: each is normalised the way the
grammar matcher normalises speech (case-folded, punctuation removed, a numeral is its digit
words: ``"5512"`` -> ``five five one two``; ``oh`` is written ``zero``). Then each word is looked up
in the pronunciation dictionary (CMUdict for the en-US model):

- a word the dictionary has is kept;
- a word that is a dictionary word without its apostrophe (the matcher drops apostrophes, so
  ``that's`` arrives as ``thats``) becomes that word: the decoder then says ``that's``, which the
  matcher reads as ``thats`` again;
- any other word made of ASCII letters and digits is added to the dictionary pronounced as its
  letters and digits spelled out (``ibm`` -> "I B M"), so an acronym said letter by letter is heard
  as the grammar's word; the decoder cannot guess how a made-up word is read as a word;
- a word with other characters (``café``) is dropped from its sentence, and a sentence left
  with no word is dropped. Such a sentence cannot be recognised from audio.

A grammar's size is counted in word occurrences with rule references expanded (`Vocabulary.words`),
which is what the decoder's memory follows: pocketsphinx builds a search state per occurrence,
~11 KB each for the two searches of a grammar. Past MAX_GRAMMAR_WORDS the recogniser does not build
the search (a GRXML document of nested repeats would otherwise exhaust memory and abort the process
inside pocketsphinx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from percl.media.grammar.normalize import voice_words
from percl.media.grammar.phrases import DIGIT_NAMES, spoken

# The phones of each letter's name (CMUdict's phone set), for spelling words the dictionary lacks.
LETTER_PHONES: dict[str, str] = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY",
    "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N",
    "o": "OW", "p": "P IY", "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY", "z": "Z IY",
}  # fmt: skip
DIGIT_PHONES: dict[str, str] = {
    "0": "Z IH R OW", "1": "W AH N", "2": "T UW", "3": "TH R IY", "4": "F AO R",
    "5": "F AY V", "6": "S IH K S", "7": "S EH V AH N", "8": "EY T", "9": "N AY N",
}  # fmt: skip
assert set(DIGIT_PHONES) == set(DIGIT_NAMES)

Lookup = Callable[[str], str | None]  # word -> its pronunciation (phones), or None when unknown
MAX_GRAMMAR_WORDS = 5000  # word occurrences in one grammar's search (~55 MB in the decoder)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A JSGF grammar, the words it needs added to the dictionary (word -> phones), and its size in
    word occurrences once rule references are expanded."""

    jsgf: str
    new_words: dict[str, str]
    words: int


def normalise(phrase: str) -> tuple[str, ...]:
    """A sentence as words the way the matcher compares them, digits as their names."""
    return tuple(spoken(w) for w in voice_words(phrase))


def spelling(word: str) -> str | None:
    """Phones for `word` said letter by letter (digits by name); None if it has another character."""
    parts = [LETTER_PHONES.get(ch) or DIGIT_PHONES.get(ch) for ch in word]
    return " ".join(p for p in parts if p) if all(parts) else None


def dictionary_word(word: str, lookup: Lookup) -> tuple[str, str | None] | None:
    """(the word to put in the grammar, phones to add or None), or None: drop the word."""
    if lookup(word) is not None:
        return word, None
    for i in range(len(word) - 1, 0, -1):  # "thats" -> "that's", "dont" -> "don't", "maam" -> "ma'am"
        restored = f"{word[:i]}'{word[i:]}"
        if lookup(restored) is not None:
            return restored, None
    phones = spelling(word)
    return None if phones is None else (word, phones)


def build_jsgf(phrases: Iterable[str], lookup: Lookup) -> Vocabulary | None:
    """The JSGF grammar accepting `phrases`; None when no sentence is left to recognise."""
    sentences: dict[str, None] = {}
    new_words: dict[str, str] = {}
    known: dict[str, tuple[str, str | None] | None] = {}
    for phrase in phrases:
        words = []
        for word in normalise(phrase):
            if word not in known:
                known[word] = dictionary_word(word, lookup)
            mapped = known[word]
            if mapped is not None:
                words.append(mapped[0])
                if mapped[1] is not None:
                    new_words[mapped[0]] = mapped[1]
        if words:
            sentences[" ".join(words)] = None
    if not sentences:
        return None
    body = "\n    | ".join(sentences)
    size = sum(len(sentence.split()) for sentence in sentences)
    return Vocabulary(f"#JSGF V1.0;\ngrammar percl;\npublic <utterance> =\n      {body};\n", new_words, size)
