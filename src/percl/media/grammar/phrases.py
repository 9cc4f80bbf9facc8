"""The sentences a grammar accepts, spelled out: what a speech recogniser is constrained to.

A speech decoder (percl.media.asr) decodes best when it may only hear what the grammar accepts.
`phrases(compiled, limit)` expands the voice grammar's root rule into its word sequences:

- ``<one-of>`` is a union, a sequence a product, ``<item repeat="n-m">`` the union of n..m
  repetitions, ``<ruleref>`` the referenced rule's sentences; tags add no words; NULL adds none;
  VOID has no sentence.
- GARBAGE, an open repeat (``n-``) of something that says a word, and a rule that reaches itself
  accept infinitely many sentences: the answer is None. So is any grammar with more than `limit`
  sentences (``DIG3`` has 1,000) or with a sentence longer than MAX_WORDS words (nobody says that
  in one utterance): the expansion stops as soon as a partial result passes either, so the work
  and memory stay bounded by about ``limit`` x MAX_WORDS words (a document of 20,000 words in a
  row, or a long item repeated 500 times, would otherwise cost seconds and hundreds of MB).
- Words come out normalised as the matcher compares them (case-folded, no punctuation, apostrophes
  removed: ``that's`` -> ``thats``), except that a digit is written as its canonical word
  (``5`` and ``five`` -> ``five``, ``0`` and ``oh`` and ``zero`` -> ``zero``, ``niner`` -> ``nine``):
  a recogniser's dictionary has words, not numerals, and "oh" is left out on purpose because a
  decoder allowed to hear "oh" as a digit inserts it into noise. A grammar's literal "oh" is a
  digit to the matcher too, so saying "zero" there still matches.
- The empty sentence (a grammar whose items are all optional) is left out: an empty utterance is
  never a match. Duplicates are removed; the order is the grammar's document order.
"""

from __future__ import annotations

from percl.media.grammar.expansion import (
    Compiled,
    Node,
    OneOf,
    Repeat,
    RuleRef,
    Seq,
    Special,
    SpecialRef,
    Tag,
    Tokens,
)
from percl.media.grammar.normalize import DIGIT_WORDS, Word

Sentence = tuple[str, ...]
MAX_WORDS = 200  # words in one sentence: a minute of speech (the recogniser's max_seconds) holds fewer
DIGIT_NAMES: dict[str, str] = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four",
    "5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine",
}  # fmt: skip
assert set(DIGIT_NAMES) == set(DIGIT_WORDS.values())


class _Unbounded(Exception):
    """The grammar accepts infinitely many sentences, or more than the limit."""


def phrases(compiled: Compiled | None, limit: int) -> list[str] | None:
    """The sentences `compiled` accepts as normalised strings; None when infinite or more than `limit`.

    A missing grammar part (a DTMF-only grammar asked for speech) accepts nothing: ``[]``.
    """
    if compiled is None:
        return []
    try:
        found = _Expander(compiled, limit).node(RuleRef(compiled.root))
    except (_Unbounded, RecursionError):
        return None
    sentences = [" ".join(s) for s in found if s]
    return sentences if len(sentences) <= limit else None


def spoken(word: Word) -> str:
    """The word a recogniser should listen for: a digit's canonical name, else the matcher's key."""
    return DIGIT_NAMES.get(word.key, word.key)


class _Expander:
    def __init__(self, compiled: Compiled, limit: int) -> None:
        self.rules = compiled.rules
        self.limit = limit
        self.done: dict[str, dict[Sentence, None]] = {}
        self.active: set[str] = set()

    def _check(self, found: dict[Sentence, None]) -> dict[Sentence, None]:
        # +1: the empty sentence may be among them and is dropped at the end.
        if len(found) > self.limit + 1:
            raise _Unbounded
        return found

    def node(self, node: Node) -> dict[Sentence, None]:
        """The sentences of `node` as an ordered set (dict keys)."""
        if isinstance(node, Tokens):
            if len(node.words) > MAX_WORDS:
                raise _Unbounded
            return {tuple(spoken(w) for w in node.words): None}
        if isinstance(node, Seq):
            return self._product([self.node(item) for item in node.items])
        if isinstance(node, OneOf):
            union: dict[Sentence, None] = {}
            for item in node.items:
                union.update(self.node(item))
                self._check(union)
            return union
        if isinstance(node, Repeat):
            return self._repeat(node)
        if isinstance(node, RuleRef):
            return self._rule(node.name)
        if isinstance(node, SpecialRef):
            if node.kind is Special.GARBAGE:
                raise _Unbounded
            return {} if node.kind is Special.VOID else {(): None}
        assert isinstance(node, Tag)
        return {(): None}

    def _rule(self, name: str) -> dict[Sentence, None]:
        if name in self.done:
            return self.done[name]
        if name in self.active:  # recursion: a rule that reaches itself repeats without end
            raise _Unbounded
        self.active.add(name)
        found = self.done[name] = self.node(self.rules[name].body)
        self.active.discard(name)
        return found

    def _product(self, parts: list[dict[Sentence, None]]) -> dict[Sentence, None]:
        result: dict[Sentence, None] = {(): None}
        for part in parts:
            joined: dict[Sentence, None] = {}
            for head in result:
                for tail in part:
                    if len(head) + len(tail) > MAX_WORDS:
                        raise _Unbounded
                    joined[head + tail] = None
                self._check(joined)
            result = joined
        return result

    def _repeat(self, node: Repeat) -> dict[Sentence, None]:
        item = self.node(node.item)
        if not item or all(not s for s in item):  # says nothing, however often repeated
            return {(): None} if item or node.low == 0 else {}
        if node.high is None:
            raise _Unbounded
        if node.low > self.limit:  # each repetition count adds a longer sentence
            raise _Unbounded
        current = self._product([item] * node.low)
        found = dict(current)
        for _ in range(node.high - node.low):
            current = self._product([current, item])
            found.update(current)
            self._check(found)
        return found
