"""A compiled grammar: rule expansions as a small tree, the parse events a match produces, and checks.

srgs.py (GRXML) and builtin.py both build these trees; matcher.py walks them; semantics.py reads
the events. Nodes compare by identity (``eq=False``) so a match can memoise on ``(node, position)``.

Two static checks run when a grammar is compiled, because a recogniser cannot recover from them:
every rule reference must resolve, and no rule may reach itself without consuming a word first
(left recursion: the matcher would recurse forever at the same position).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from percl.media.grammar.errors import GrammarError
from percl.media.grammar.normalize import Word
from percl.media.grammar.script import Program


class TagFormat(StrEnum):
    """How `<tag>` content is read (the grammar's tag-format attribute)."""

    LITERALS = "semantics/1.0-literals"  # the tag text is the value
    SCRIPT = "script"  # semantics/1.0, swi-semantics/1.0, semantics-ms/1.0: see script.py


class Special(StrEnum):
    NULL = "NULL"  # matches nothing, always
    VOID = "VOID"  # never matches
    GARBAGE = "GARBAGE"  # matches any run of words, possibly none


@dataclass(frozen=True, eq=False)
class Tokens:
    words: tuple[Word, ...]


@dataclass(frozen=True, eq=False)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class OneOf:
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Repeat:
    item: Node
    low: int
    high: int | None  # None: unbounded


@dataclass(frozen=True, eq=False)
class RuleRef:
    name: str


@dataclass(frozen=True, eq=False)
class SpecialRef:
    kind: Special


@dataclass(frozen=True, eq=False)
class Tag:
    """A `<tag>`: a parsed script, or (literals format) the literal text."""

    program: Program | None
    literal: str = ""


Node = Tokens | Seq | OneOf | Repeat | RuleRef | SpecialRef | Tag


@dataclass(frozen=True)
class Rule:
    name: str
    body: Node
    public: bool = False


@dataclass(frozen=True)
class Compiled:
    """One grammar in one mode: its rules, the root to match, and how to read tags."""

    rules: dict[str, Rule]
    root: str
    tag_format: TagFormat = TagFormat.SCRIPT
    has_tags: bool = False
    mode: str = "voice"
    language: str = "en-US"


# ---- parse events: what a successful match records, in input order ----


@dataclass(frozen=True, slots=True)
class TokEvent:
    display: str
    garbage: bool = False


@dataclass(frozen=True, slots=True)
class TagEvent:
    tag: Tag


@dataclass(frozen=True, slots=True)
class RuleEvent:
    name: str
    events: tuple[Event, ...]


Event = TokEvent | TagEvent | RuleEvent


# ---- static checks ----


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Seq | OneOf):
        return node.items
    if isinstance(node, Repeat):
        return (node.item,)
    return ()


def check_references(rules: dict[str, Rule]) -> None:
    """Raise GrammarError for a ruleref to a rule the grammar does not define."""
    for rule in rules.values():
        stack: list[Node] = [rule.body]
        while stack:
            node = stack.pop()
            if isinstance(node, RuleRef) and node.name not in rules:
                raise GrammarError(f"rule {rule.name!r} refers to undefined rule '#{node.name}'")
            stack.extend(_children(node))


def _nullable(node: Node, known: dict[str, bool]) -> bool:
    if isinstance(node, Tokens):
        return not node.words
    if isinstance(node, Seq):
        return all(_nullable(n, known) for n in node.items)
    if isinstance(node, OneOf):
        return any(_nullable(n, known) for n in node.items)
    if isinstance(node, Repeat):
        return node.low == 0 or _nullable(node.item, known)
    if isinstance(node, RuleRef):
        return known.get(node.name, False)
    if isinstance(node, SpecialRef):
        return node.kind is not Special.VOID
    return True  # Tag


def nullable_rules(rules: dict[str, Rule]) -> dict[str, bool]:
    """Which rules can match without consuming a word (a least fixed point)."""
    known = dict.fromkeys(rules, False)
    changed = True
    while changed:
        changed = False
        for name, rule in rules.items():
            if not known[name] and _nullable(rule.body, known):
                known[name] = changed = True
    return known


def _left_refs(node: Node, known: dict[str, bool]) -> set[str]:
    """Rules that `node` may enter before it has consumed any word."""
    if isinstance(node, RuleRef):
        return {node.name}
    if isinstance(node, OneOf):
        return set().union(*(_left_refs(n, known) for n in node.items))
    if isinstance(node, Repeat):
        return _left_refs(node.item, known) if node.high != 0 else set()
    if isinstance(node, Seq):
        refs: set[str] = set()
        for item in node.items:
            refs |= _left_refs(item, known)
            if not _nullable(item, known):
                break
        return refs
    return set()


def check_left_recursion(rules: dict[str, Rule]) -> None:
    """Raise GrammarError naming the cycle when a rule can reach itself without consuming input."""
    known = nullable_rules(rules)
    edges = {name: sorted(_left_refs(rule.body, known)) for name, rule in rules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise GrammarError(f"recursion without consuming input (left recursion): {cycle}")
        if name in done:
            return
        for nxt in edges.get(name, ()):
            visit(nxt, [*path, name])
        done.add(name)

    for name in rules:
        visit(name, [])
