"""A parsed PQL query over account log lines: the tree `percl.api.pql` builds, and what it means.

Here, not beside the parser, because the stores read it too: SqliteStore translates a tree into
a WHERE clause (every comparison has an SQL equivalent, so whole queries run in SQL), MemoryStore
evaluates it with `matches`. Both follow the rules below, which the store contract tests hold
them to:

    timestamp                              integer microseconds; all six operators
    level                                  LogLevel; all six operators, ordered by severity
                                           info < warning < error
    requestId, accountId, callId, message  strings, exact and case-sensitive; = and != only

A field that is null on a line (callId and requestId can be) satisfies only `!=`.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True)
class Comparison:
    """`field op value`; `field` is a LogResult wire name, `value` an int, a str, or a
    LogLevel for `level`. `offset` is where the comparison starts in the query text."""

    field: str
    op: Op
    value: int | str
    offset: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[LogQuery, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[LogQuery, ...]


LogQuery = Comparison | And | Or

# The searchable LogResult properties by wire name, and how each is read from a line.
READERS: dict[str, Callable[[LogEntry], int | str | None]] = {
    "timestamp": lambda e: e.timestamp,
    "level": lambda e: e.level,
    "requestId": lambda e: e.request_id,
    "accountId": lambda e: e.account_id,
    "callId": lambda e: e.call_id,
    "message": lambda e: e.message,
}

SEVERITY = {LogLevel.INFO: 0, LogLevel.WARNING: 1, LogLevel.ERROR: 2}
OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def matches(node: LogQuery, entry: LogEntry) -> bool:
    """Whether `entry` satisfies the query `node`. Never raises for a parsed tree."""
    if isinstance(node, And):
        return all(matches(term, entry) for term in node.terms)
    if isinstance(node, Or):
        return any(matches(term, entry) for term in node.terms)
    actual = READERS[node.field](entry)
    if actual is None:  # a null field is unequal to every value and has no order
        return node.op is Op.NE
    return OPS[node.op](_key(actual), _key(node.value))


def levels_matching(op: Op, level: LogLevel) -> tuple[LogLevel, ...]:
    """The levels that satisfy `level-field op level` (severity order), e.g. >= warning ->
    (warning, error): how a store turns a level comparison into a set test."""
    return tuple(lv for lv in LogLevel if OPS[op](SEVERITY[lv], SEVERITY[level]))


def _key(value: int | str) -> int | str:
    """What comparisons see: levels by severity, everything else as is."""
    return SEVERITY[value] if isinstance(value, LogLevel) else value
