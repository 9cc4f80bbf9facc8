"""How SqlStore's statements reach a database: the execution strategy it is composed with.

Why a strategy: the statements (the table gateways beside this module) are SQLAlchemy Core and
portable; how they run is not. SQLite is fastest with its own tuning (sqlite_executor.py: SQL
compiled once and sent straight to the driver, a writer on the loop's thread, checkpoints on
another); any other database runs them through SQLAlchemy's async engine (alchemy.py). Everything
SQLite-only stays behind this interface.

The contract every strategy keeps:
- `write` and `fetch` take Core statements only (never SQL text), each its own transaction.
- A statement passed with `params` is built once and reused (its bind parameters are filled from
  `params`; a strategy may cache its compiled form by identity). A statement passed without
  `params` is built per call, its values inside it (a list with filters), and compiled per call.
- A write that breaks a unique constraint raises `Duplicate`; one that finds the database locked
  by someone else raises `percl.errors.StoreBusy` with nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Delete, Insert, Select, Update

#: One row as the driver returns it: values in the order of the SELECT's columns.
Row = Sequence[Any]
Params = Mapping[str, Any]
#: What the executors run: Core statements only (never SQL text).
Statement = Select[Any] | Insert | Update | Delete


class Duplicate(Exception):
    """A write broke a unique constraint (a phone number or blob alias already held)."""


class Executor(Protocol):
    """An execution strategy: connects, keeps the schema current, runs statements."""

    @property
    def dialect_name(self) -> str:
        """SQLAlchemy's name of the database's dialect ("sqlite", "postgresql"): which dialect's
        constructs the statements must be built with (statements.py, the one place that asks)."""
        ...

    @property
    def linger_s(self) -> float:
        """How long queued log lines wait for more before a write (0: write at once)."""
        ...

    async def open(self) -> None:
        """Connect and create or migrate the schema (schema_setup.py). Idempotent. Raises
        `percl.errors.DatabaseUnusable` when the database cannot be used."""
        ...

    async def close(self) -> None:
        """Disconnect (idempotent; `open()` may be called again)."""
        ...

    def check_open(self) -> None:
        """Raise `percl.store.base.StoreClosed` unless open."""
        ...

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        """Run one INSERT, UPDATE or DELETE as its own transaction; return how many rows it
        changed. Raises StoreClosed, StoreBusy, Duplicate (see the module doc)."""
        ...

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        """Run the reusable `stmt` once per parameter set of `rows`, all in one transaction
        (a batch of call records or log lines); return how many rows changed (PostgreSQL's
        pipelined batch reports no count: there, how many parameter sets ran). Raises as
        `write`; nothing is written when it raises."""
        ...

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        """Run one SELECT; return its rows. Raises StoreClosed."""
        ...
