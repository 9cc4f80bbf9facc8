"""A grammar too large to list sentence by sentence, as JSGF rules (DIG4, ANY_DIG, ALPHNUM6...).

`Grammar.phrases()` gives up past 500 sentences: DIG4 alone has 10,000. The decoder does not need
the list: JSGF has alternatives, optional items and repeats, so the grammar's rules translate one to
one. Words go through the same dictionary mapping as listed sentences (jsgf.py). What cannot be
said in JSGF for pocketsphinx makes the answer None, and the caller decodes free-form:
GARBAGE (any words), a repeat range wider than MAX_REPEAT_SPAN, and a grammar of more than
MAX_GRAMMAR_WORDS word occurrences once repeats and rule references are expanded (counted before
any text is built: two nested repeats of 1,000 would be a million).
"""

from __future__ import annotations

from collections.abc import Mapping

from percl.media.asr.jsgf import MAX_GRAMMAR_WORDS, Lookup, Vocabulary, dictionary_word
from percl.media.grammar import Grammar
from percl.media.grammar.expansion import (
    Node,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Seq,
    Special,
    SpecialRef,
    Tag,
    Tokens,
)
from percl.media.grammar.phrases import spoken

MAX_REPEAT_SPAN = 30  # n-m with m - n above this: the nested optionals would make a huge search


class _Untranslatable(Exception):
    pass


def grammar_jsgf(grammar: Grammar, lookup: Lookup) -> Vocabulary | None:
    """JSGF for the grammar's voice part; None without one, or when JSGF cannot express it."""
    compiled = grammar.voice
    if compiled is None:
        return None
    words = _Size(compiled.rules).rule(compiled.root)
    if words > MAX_GRAMMAR_WORDS:
        return None
    translator = _Translator(lookup, {name: f"r{i}" for i, name in enumerate(compiled.rules)})
    try:
        lines = [f"<{translator.names[name]}> = {translator.node(rule.body)};"
                 for name, rule in compiled.rules.items()]
    except _Untranslatable:
        return None
    root = translator.names[compiled.root]
    jsgf = "#JSGF V1.0;\ngrammar percl;\n" + f"public <utterance> = <{root}>;\n" + "\n".join(lines) + "\n"
    return Vocabulary(jsgf, translator.new_words, words)


class _Size:
    """Word occurrences of a node with repeats and rule references expanded (what pocketsphinx
    builds); a rule that reaches itself counts once (the decoder loops there)."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self.rules = rules
        self.done: dict[str, int] = {}
        self.active: set[str] = set()

    def rule(self, name: str) -> int:
        if name in self.active:
            return 0
        if name not in self.done:
            self.active.add(name)
            self.done[name] = self.node(self.rules[name].body)
            self.active.discard(name)
        return self.done[name]

    def node(self, node: Node) -> int:
        if isinstance(node, Tokens):
            return len(node.words)
        if isinstance(node, Seq | OneOf):
            return sum(self.node(item) for item in node.items)
        if isinstance(node, Repeat):
            copies = node.low + 1 if node.high is None else node.high  # as _repeat writes it
            return self.node(node.item) * copies
        if isinstance(node, RuleRef):
            return self.rule(node.name)
        return 0  # tags and special rules say no word (GARBAGE is refused when translating)


class _Translator:
    def __init__(self, lookup: Lookup, names: dict[str, str]) -> None:
        self.lookup = lookup
        self.names = names
        self.new_words: dict[str, str] = {}

    def node(self, node: Node) -> str:
        if isinstance(node, Tokens):
            return self._words(node)
        if isinstance(node, Seq):
            parts = [part for part in map(self.node, node.items) if part != "<NULL>"]  # tags say nothing
            return _group(parts)
        if isinstance(node, OneOf):
            return "(" + " | ".join(self.node(n) for n in node.items) + ")" if node.items else "<VOID>"
        if isinstance(node, Repeat):
            return self._repeat(node)
        if isinstance(node, RuleRef):
            return f"<{self.names[node.name]}>"
        if isinstance(node, SpecialRef):
            if node.kind is Special.GARBAGE:
                raise _Untranslatable
            return "<NULL>" if node.kind is Special.NULL else "<VOID>"
        assert isinstance(node, Tag)
        return "<NULL>"

    def _words(self, node: Tokens) -> str:
        words = []
        for word in node.words:
            mapped = dictionary_word(spoken(word), self.lookup)
            if mapped is not None:
                words.append(mapped[0])
                if mapped[1] is not None:
                    self.new_words[mapped[0]] = mapped[1]
        return _group(words)

    def _repeat(self, node: Repeat) -> str:
        item = self.node(node.item)
        required = [item] * node.low
        if node.high is None:
            return _group([*required, f"{item}*"])
        span = node.high - node.low
        if span > MAX_REPEAT_SPAN:
            raise _Untranslatable
        optional = ""
        for _ in range(span):
            optional = f"[{item} {optional}]" if optional else f"[{item}]"
        return _group([*required, optional] if optional else required)


def _group(parts: list[str]) -> str:
    """A sequence as one JSGF unit: nothing is <NULL>, one part stands alone."""
    if not parts:
        return "<NULL>"
    return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"
