"""Statement builders the table gateways share, dialect-neutral but for one dispatch.

Why the dispatch: "insert or update by primary key" is the one statement standard SQL lacks.
SQLite and PostgreSQL spell it the same (`INSERT ... ON CONFLICT (key) DO UPDATE SET col =
excluded.col`), and SQLAlchemy offers it per dialect, so `Statements` picks the dialect's `insert`
by the executor's dialect name here, and nowhere else. Every other statement is plain Core.

Every statement built here is reusable: its values are bind parameters named after their
columns (`executor.py`: a statement passed with `params`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT of `table`, with `on_conflict_do_update` and `excluded`."""
        return self._insert(table)

    def upsert(self, table: Table, *, keep: Sequence[str] = ()) -> Insert:
        """INSERT one row (parameters named after the columns) or, when its primary key exists,
        UPDATE every other column but those in `keep` (set once, by the INSERT)."""
        values: dict[str, Any] = {c.name: bindparam(c.name) for c in table.columns}
        return self._on_conflict(table, self._insert(table).values(values), keep)

    @staticmethod
    def _on_conflict(table: Table, stmt: Any, keep: Sequence[str]) -> Insert:
        key = [c.name for c in table.primary_key.columns]
        updates = {c.name: stmt.excluded[c.name] for c in table.columns
                   if not c.primary_key and c.name not in keep}
        done: Insert = stmt.on_conflict_do_update(index_elements=key, set_=updates)
        return done


def insert_row(table: Table, columns: Sequence[str]) -> Insert:
    """A plain INSERT of one row of `columns` (parameters named after them)."""
    return table.insert().values({c: bindparam(c) for c in columns})


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
