"""Matching a word sequence against a rule expansion: every way through, keeping the best per span.

`spans(node, pos)` answers "where can `node` end if it starts at word `pos`, and by which parse?"
as a map ``end -> (cost, events)``. Sequences, alternatives and repeats combine their children's
maps, so ambiguity ("yes please" against ``yes [please]`` or against ``yes please``) and repeats
need no backtracking: every end position is explored, and the whole utterance matches when the
root can end at the last word. Results are memoised per ``(node, pos)`` for one utterance only.

Cost is the number of words absorbed by GARBAGE. For each span only the cheapest parse is kept
(on a tie, the first one found, in document order): that bounds the work on ambiguous grammars
and is the parse whose tags are run. Termination: the compiler rejects left recursion, and a
repeat past its minimum only continues with iterations that consume a word (an open-ended repeat
is then a forward pass over positions, so GARBAGE inside it stays polynomial).
"""

from __future__ import annotations

from percl.media.grammar.expansion import (
    Event,
    Node,
    OneOf,
    Repeat,
    Rule,
    RuleEvent,
    RuleRef,
    Seq,
    Special,
    SpecialRef,
    Tag,
    TagEvent,
    Tokens,
    TokEvent,
)
from percl.media.grammar.normalize import Word

Parse = tuple[int, tuple[Event, ...]]  # (garbage words, events)
Spans = dict[int, Parse]


def _keep(spans: Spans, end: int, parse: Parse) -> None:
    best = spans.get(end)
    if best is None or parse[0] < best[0]:
        spans[end] = parse


class Matcher:
    """One utterance against one grammar's rules. Make a new one per utterance (it memoises)."""

    def __init__(self, rules: dict[str, Rule], words: tuple[Word, ...]) -> None:
        self.rules = rules
        self.words = words
        self.keys = tuple(w.key for w in words)
        # Built once: GARBAGE and token spans are slices of these.
        self.heard = tuple(TokEvent(w.display) for w in words)
        self.garbage = tuple(TokEvent(w.display, garbage=True) for w in words)
        self.memo: dict[tuple[Node, int], Spans] = {}

    def match_rule(self, name: str) -> Parse | None:
        """The best parse of the whole utterance by rule `name`, as one RuleEvent; None: no match."""
        return self.spans(RuleRef(name), 0).get(len(self.words))

    def spans(self, node: Node, pos: int) -> Spans:
        key = (node, pos)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._spans(node, pos)
        return found

    def _spans(self, node: Node, pos: int) -> Spans:
        if isinstance(node, Tokens):
            end = pos + len(node.words)
            if self.keys[pos:end] == tuple(w.key for w in node.words):
                return {end: (0, self.heard[pos:end])}
            return {}
        if isinstance(node, Seq):
            return self._sequence(node.items, pos)
        if isinstance(node, OneOf):
            spans: Spans = {}
            for item in node.items:
                for end, parse in self.spans(item, pos).items():
                    _keep(spans, end, parse)
            return spans
        if isinstance(node, Repeat):
            return self._repeat(node, pos)
        if isinstance(node, RuleRef):
            body = self.rules[node.name].body
            return {
                end: (cost, (RuleEvent(node.name, events),))
                for end, (cost, events) in self.spans(body, pos).items()
            }
        if isinstance(node, SpecialRef):
            return self._special(node.kind, pos)
        assert isinstance(node, Tag)
        return {pos: (0, (TagEvent(node),))}

    def _sequence(self, items: tuple[Node, ...], pos: int) -> Spans:
        frontier: Spans = {pos: (0, ())}
        for item in items:
            following: Spans = {}
            for start, (cost, events) in frontier.items():
                for end, (more, tail) in self.spans(item, start).items():
                    _keep(following, end, (cost + more, events + tail))
            frontier = following
            if not frontier:
                break
        return frontier

    def _repeat(self, node: Repeat, pos: int) -> Spans:
        frontier: Spans = {pos: (0, ())}
        for _ in range(node.low):  # the required iterations may match nothing
            frontier = self._iterate(node.item, frontier, must_consume=False)
            if not frontier:
                return {}
        if node.high is None:
            return self._open_repeat(node.item, frontier)
        results = dict(frontier)
        for _ in range(node.high - node.low):
            following = self._iterate(node.item, frontier, must_consume=True)
            # Reaching a position again, after more iterations and at no lower cost, leads nowhere new.
            frontier = {e: p for e, p in following.items() if e not in results or p[0] < results[e][0]}
            if not frontier:
                break
            results.update(frontier)
        return results

    def _iterate(self, item: Node, frontier: Spans, *, must_consume: bool) -> Spans:
        following: Spans = {}
        for start, (cost, events) in frontier.items():
            for end, (more, tail) in self.spans(item, start).items():
                if not (must_consume and end == start):
                    _keep(following, end, (cost + more, events + tail))
        return following

    def _open_repeat(self, item: Node, reached: Spans) -> Spans:
        """Any number of further iterations: a forward pass over positions, since each one consumes."""
        best = dict(reached)
        for start in range(min(best), len(self.words)):
            if start not in best:
                continue
            cost, events = best[start]
            for end, (more, tail) in self.spans(item, start).items():
                if end > start:
                    _keep(best, end, (cost + more, events + tail))
        return best

    def _special(self, kind: Special, pos: int) -> Spans:
        if kind is Special.NULL:
            return {pos: (0, ())}
        if kind is Special.VOID:
            return {}
        return {end: (end - pos, self.garbage[pos:end]) for end in range(pos, len(self.words) + 1)}
