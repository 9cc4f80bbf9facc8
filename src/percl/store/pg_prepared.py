"""PostgreSQL's fast path: reusable statements as asyncpg prepared statements, past SQLAlchemy.

Why: one worker on PostgreSQL spent 4.04 ms of CPU per call against SQLite's 1.91, and ~5.6 of
the ~9.8 profiled ms PostgreSQL added were SQLAlchemy's per-statement handling (compiled-cache
lookup, parameter processing, result wrapping) and its async adapter's greenlet switches
(docs/BENCHMARKS.md, "Workers on PostgreSQL"). The SQLite strategy skips that layer for the same
reason (sqlite_executor.py); this is the same idea on asyncpg.

How: a reusable statement (executor.py: one built once, passed with `params`) is compiled once per
process with the engine's own asyncpg dialect, so the SQL text is exactly what SQLAlchemy would
send (its `$n::TYPE` casts included); each connection prepares it once (asyncpg's statement cache)
and a call binds its values by position. The connections are an asyncpg pool of this module's,
with the engine's connection arguments and settings; releasing one sends nothing (the fast path
never changes a session setting, and asyncpg rolls back a transaction left open).

What stays on SQLAlchemy: statements built per call (lists with filters), and any statement whose
results SQLAlchemy would convert (none of the store's reusable ones today: `compile_prepared`
checks each statement once). Values go through SQLAlchemy's own bind processors (Boolean's).
The statements themselves stay Core, built by the table gateways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import asyncpg
from sqlalchemy import Float
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.types import TypeEngine

from percl.errors import StoreBusy
from percl.store.sql.executor import Duplicate, Params, Statement

#: SQLSTATE of a broken UNIQUE or PRIMARY KEY constraint (alchemy.py has the same reading).
_UNIQUE_VIOLATION = "23505"
#: serialization_failure, deadlock_detected, lock_not_available: nothing was written.
_BUSY_STATES = frozenset({"40001", "40P01", "55P03"})
#: PostgreSQL's type OID of double precision (float8).
_FLOAT8 = 701
#: Reusable statements whose SQL is kept (the store builds a few dozen, once each).
_PREPARED_MAX = 512

#: Picks a statement's values, in `$n` order, out of its parameters.
Getter = Callable[[Params], Sequence[Any]]


@dataclass(frozen=True)
class Prepared:
    """A reusable statement compiled for asyncpg: its SQL and what picks its values."""

    sql: str
    values: Getter


def _getter(names: Sequence[str], defaults: Mapping[str, Any], fixed: frozenset[str]) -> Getter:
    """Values in `names` order: each from the parameters, or the statement's own value for a
    bind the statement fixed (a literal such as the "live" lease kind)."""
    if not fixed:
        if len(names) == 1:
            name = names[0]
            return lambda params: (params[name],)
        pick = itemgetter(*names)
        return lambda params: tuple(pick(params))
    spec = [(n, n in fixed, defaults.get(n)) for n in names]
    return lambda params: tuple(
        params.get(n, d) if f else params[n] for n, f, d in spec)


def compile_prepared(stmt: Statement, dialect: Dialect) -> Prepared | None:
    """`stmt` compiled for asyncpg, or None when it needs SQLAlchemy to run it: a bind expanded
    per call (IN lists), an escaped bind name, or a result type SQLAlchemy converts. Values are
    converted as SQLAlchemy would (its bind processors, applied here)."""
    compiled = stmt.compile(dialect=dialect)
    if compiled.escaped_bind_names:
        return None
    binds = compiled.binds
    if any(b.expanding or b.literal_execute for b in binds.values()):
        return None
    if not all(_as_sent(column.type, dialect) for column in compiled._result_columns):
        return None
    names = tuple(compiled.positiontup or ())
    fixed = frozenset(n for n in names if not binds[n].required)
    defaults = compiled.construct_params(_check=False) if fixed else {}
    values = _getter(names, defaults, fixed)
    found = [compiled._bind_processors.get(n) for n in names]
    processors = [f for f in found if f is None or callable(f)]
    if len(processors) < len(found):  # a tuple's per-element conversion
        return None
    if any(processors):  # SQLAlchemy's conversion of a value (Boolean's: strictly a bool)
        values = _processed(values, processors)
    return Prepared(compiled.string, values)


def _processed(values: Getter, processors: Sequence[Callable[[Any], Any] | None]) -> Getter:
    at = [(i, f) for i, f in enumerate(processors) if f is not None]

    def convert(params: Params) -> Sequence[Any]:
        out = list(values(params))
        for i, f in at:
            out[i] = f(out[i])
        return out

    return convert


def _as_sent(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    """Whether asyncpg's value of a result column of `type_` is already what SQLAlchemy would
    return. A Float's conversion depends on the column's PostgreSQL type: the store's Float
    columns are double precision (float8), which asyncpg returns as float, as SQLAlchemy does."""
    try:
        coltype = _FLOAT8 if isinstance(type_, Float) else None
        return type_._cached_result_processor(dialect, coltype) is None
    except (InvalidRequestError, TypeError):  # a conversion that needs the column's type
        return False


class PreparedCache:
    """Each reusable statement's `Prepared` (or None: SQLAlchemy runs it), compiled once."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # id(statement) -> (the statement, its Prepared or None)
        self._kept: dict[int, tuple[Statement, Prepared | None]] = {}

    def get(self, stmt: Statement) -> Prepared | None:
        kept = self._kept.get(id(stmt))
        if kept is None or kept[0] is not stmt:
            if len(self._kept) >= _PREPARED_MAX:
                self._kept.clear()
            kept = (stmt, compile_prepared(stmt, self._dialect))
            self._kept[id(stmt)] = kept
        return kept[1]


def without_nul(values: Sequence[Any]) -> Sequence[Any]:
    """`values` with each NUL in a string as U+FFFD (store/postgres.py says why). A plain loop:
    it runs on every value of every statement."""
    for v in values:
        if v.__class__ is str and "\x00" in v:
            return [w.replace("\x00", "\ufffd") if w.__class__ is str else w for w in values]
    return values


def translated(exc: asyncpg.PostgresError) -> Exception | None:
    """asyncpg's error as the executor contract's (`Duplicate`, `StoreBusy`), or None: as it is."""
    state = getattr(exc, "sqlstate", None)
    if state == _UNIQUE_VIOLATION:
        return Duplicate(str(exc))
    if state in _BUSY_STATES:
        return StoreBusy()
    return None


def changed(status: str) -> int:
    """Rows a command changed, from its tag ("INSERT 0 1", "UPDATE 3", "DELETE 0")."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else 0
