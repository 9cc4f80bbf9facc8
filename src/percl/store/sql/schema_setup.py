"""Create and migrate SqlStore's schema on any database SQLAlchemy speaks to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from percl.errors import DatabaseUnusable
from percl.store import schema

#: The PostgreSQL advisory lock key that serialises schema set-up ("percl" in ASCII).
SCHEMA_LOCK = 0x706572636C


async def ensure_schema(conn: AsyncConnection, where: str) -> None:
    """Create missing tables, then check the stored schema version: record it on a new database,
    migrate an older one (schema.MIGRATIONS: standard DDL), refuse a newer one. `where` names the
    database in the error (PERCL_DB=...). The caller commits."""
    if conn.dialect.name == "postgresql":
        # Workers starting together (`percl serve --workers N`, several machines) would race to
        # create the same tables: one at a time, the lock held until the caller commits.
        await conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
    await conn.run_sync(schema.metadata.create_all)
    found = (await conn.execute(select(schema.schema_version.c.version))).scalar()
    if found is None:
        await conn.execute(insert(schema.schema_version).values(version=schema.SCHEMA_VERSION))
    elif found > schema.SCHEMA_VERSION:
        raise DatabaseUnusable(
            f"PERCL_DB={where}: database schema version {found} is newer "
            f"than this percl supports ({schema.SCHEMA_VERSION}); upgrade percl or use "
            "another database file"
        )
    elif found < schema.SCHEMA_VERSION:
        # New tables came with create_all; anything else is in schema.MIGRATIONS.
        for version in range(found, schema.SCHEMA_VERSION):
            for statement in schema.MIGRATIONS.get(version, ()):
                await conn.exec_driver_sql(statement)
            for table, column in schema.ADDED_COLUMNS.get(version, ()):
                await _add_column(conn, schema.metadata.tables[table].c[column])
        await conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION))


async def _add_column(conn: AsyncConnection, column: Column[Any]) -> None:
    """ALTER TABLE ... ADD COLUMN for `column` unless the table has it already (so a migration
    cut short is finished on the next start: SQLite has no ADD COLUMN IF NOT EXISTS)."""
    table = column.table.name
    present = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns(table)})
    if column.name in present:
        return
    kind = column.type.compile(dialect=conn.dialect)
    default = getattr(column.server_default, "arg", None)
    if not isinstance(default, str):
        raise TypeError(f"{table}.{column.name}: an added column needs a text server_default")
    await conn.exec_driver_sql(
        f"ALTER TABLE {table} ADD COLUMN {column.name} {kind} NOT NULL DEFAULT {default}")
