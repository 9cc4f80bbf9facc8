"""Statement builders the table gateways share, dialect-neutral but for one dispatch.

Why the dispatch: "insert or update by primary key" is the one statement standard SQL lacks.
SQLite and PostgreSQL spell it the same (`INSERT ... ON CONFLICT (key) DO UPDATE SET col =
excluded.col`), and SQLAlchemy offers it per dialect, so `Statements` picks the dialect's `insert`
by the executor's dialect name here, and nowhere else. Every other statement is plain Core.

Every statement built here is reusable: its values are bind parameters named after their
columns (`executor.py`: a statement passed with `params`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, Delete, Insert, Select, Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from percl.store.schema import RecordMap

#: The dialects whose insert has `on_conflict_do_update` (and, with it, `excluded`).
_UPSERT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


class Statements:
    """Builds the statements whose spelling depends on the dialect (upserts)."""

    def __init__(self, dialect_name: str) -> None:
        try:
            self._insert = _UPSERT_INSERTS[dialect_name]
        except KeyError:
            raise ValueError(f"no upsert for the {dialect_name!r} dialect "
                             f"(supported: {', '.join(_UPSERT_INSERTS)})") from None
        self.dialect_name = dialect_name
        # Every batch size of calls (32) and log lines (100) stays built: a rebuilt statement is
        # compiled again.
        self._multi = lru_cache(maxsize=256)(self._build_multi)

    def upsert(self, table: Table) -> Insert:
        """INSERT one row (parameters named after the columns) or, when its primary key exists,
        UPDATE every other column."""
        values: dict[str, Any] = {c.name: bindparam(c.name) for c in table.columns}
        return self._on_conflict(table, self._insert(table).values(values))

    def multi_upsert(self, table: Table, columns: tuple[str, ...], rows: int) -> Insert:
        """One upsert of `rows` rows, parameters `<column>_<row>`. The rows must have distinct
        keys (PostgreSQL refuses to update one row twice in a statement). Cached per size."""
        stmt: Insert = self._multi(table, columns, rows, True)
        return stmt

    def multi_insert(self, table: Table, columns: tuple[str, ...], rows: int) -> Insert:
        """One plain INSERT of `rows` rows, parameters `<column>_<row>`. Cached per size."""
        stmt: Insert = self._multi(table, columns, rows, False)
        return stmt

    def _build_multi(self, table: Table, columns: tuple[str, ...], rows: int, upsert: bool) -> Insert:
        values: list[dict[str, Any]] = [
            {c: bindparam(f"{c}_{i}") for c in columns} for i in range(rows)]
        if upsert:
            return self._on_conflict(table, self._insert(table).values(values))
        return table.insert().values(values)

    @staticmethod
    def _on_conflict(table: Table, stmt: Any) -> Insert:
        key = [c.name for c in table.primary_key.columns]
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key}
        done: Insert = stmt.on_conflict_do_update(index_elements=key, set_=updates)
        return done


class RowValues(Mapping[str, Any]):
    """The parameters of a multi-row statement, kept flat (`flat[i]` is `names[i]`'s): a
    Mapping like any parameters, which an executor may also pass on positionally as they are
    (the SQLite one does: a dict of 28 names per call record cost more than the write)."""

    __slots__ = ("_index", "flat", "names")

    def __init__(self, names: tuple[str, ...], flat: tuple[Any, ...]) -> None:
        self.names = names
        self.flat = flat
        self._index: dict[str, int] | None = None

    def __getitem__(self, key: str) -> Any:
        if self._index is None:
            self._index = {name: i for i, name in enumerate(self.names)}
        return self.flat[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def multi_params(columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> RowValues:
    """The parameters of `multi_upsert`/`multi_insert` for `rows` (values in `columns` order)."""
    flat = tuple(rows[0]) if len(rows) == 1 else tuple(chain.from_iterable(rows))
    return RowValues(_param_names(columns, len(rows)), flat)


@lru_cache(maxsize=256)
def _param_names(columns: tuple[str, ...], rows: int) -> tuple[str, ...]:
    return tuple(f"{c}_{i}" for i in range(rows) for c in columns)


def delete_by_key(table: Table) -> Delete:
    """DELETE by primary key, the key columns passed as parameters named after them."""
    return delete(table).where(*(c == bindparam(c.name) for c in table.primary_key.columns))


def select_by(record_map: RecordMap[Any], *keys: str) -> Select[Any]:
    """SELECT the map's columns (in `from_values` order) WHERE each key column = :key."""
    table = record_map.table
    return select(*record_map.columns).where(*(table.c[k] == bindparam(k) for k in keys))


def between(column: Any, lo: float | None, hi: float | None) -> list[ColumnElement[bool]]:
    """`lo <= column < hi`, each bound only when given."""
    conds: list[ColumnElement[bool]] = []
    if lo is not None:
        conds.append(column >= lo)
    if hi is not None:
        conds.append(column < hi)
    return conds
