"""Create and migrate SqlStore's schema on any database SQLAlchemy speaks to: Alembic's
revisions (store/migrations/), run at every open."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from percl.store import migrations

#: The PostgreSQL advisory lock key that serialises schema set-up ("percl" in ASCII).
SCHEMA_LOCK = 0x706572636C
#: How long a start-up waits for another process's schema set-up (the store's own lock_timeout,
#: 2 s, is for rows: a migration on a loaded server, or of a large table, takes longer).
SCHEMA_LOCK_WAIT = "300s"


async def ensure_schema(conn: AsyncConnection, where: str) -> migrations.SchemaState:
    """Bring the database to the head revision (a new one: every table; one an older percl made:
    migrated; one a newer percl made: refused with DatabaseUnusable). `where` names the database
    in the error (PERCL_DB=...). The state it found; the caller commits."""
    if conn.dialect.name == "postgresql":
        # Workers starting together (`percl serve --workers N`, several machines) would race to
        # create the same tables: one at a time, the lock held until the caller commits.
        await conn.execute(select(func.set_config("lock_timeout", SCHEMA_LOCK_WAIT, True)))
        await conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
    return await conn.run_sync(migrations.upgrade, where)
