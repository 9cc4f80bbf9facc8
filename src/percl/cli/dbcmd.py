"""`percl db upgrade`: create or migrate PERCL_DB's schema, then exit; `percl db current`: which
schema revision the database is at.

`percl serve` upgrades at every start-up; this command does it alone, so that an operator
can upgrade a database (a PostgreSQL one shared by several machines, say) before starting the
new percl, and see the failure, if any, in one line. The migrations are Alembic revisions shipped
inside percl (store/migrations/): no alembic.ini or alembic command is needed.
"""

from __future__ import annotations

import asyncio
import os
import sys

import click
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from percl.app import SchemaState, schema_head, schema_state_for, store_for
from percl.config import MEMORY_DB, Settings, from_sources, is_postgres
from percl.errors import ConfigError, PerclError


@click.group("db")
def db_cmd() -> None:
    """The database PERCL_DB names (an SQLite file or postgresql://user:password@host/db)."""


@db_cmd.command("upgrade")
@click.option("--db", help="SQLite file or postgresql:// URL [env PERCL_DB, default var/percl.db].")
def upgrade(db: str | None) -> None:
    """Create the schema, or migrate it to this percl's head revision, and exit."""
    settings = _settings(db)
    if settings.db == MEMORY_DB:
        click.echo("percl: PERCL_DB=memory:// keeps no database: nothing to upgrade")
        return
    try:
        before = asyncio.run(_upgrade(settings.db))
    except PerclError as exc:
        click.echo(f"percl: {exc}", err=True)
        sys.exit(1)
    where, head = shown(settings.db), schema_head()
    if before is not None and before.revision == head:
        click.echo(f"percl: the database at PERCL_DB={where} is up to date (revision {head}): "
                   "nothing to do")
    elif before is None or before.empty:
        click.echo(f"percl: the database at PERCL_DB={where} is up to date: the schema was "
                   f"created at revision {head}")
    else:
        click.echo(f"percl: the database at PERCL_DB={where} is up to date: {_described(before)} "
                   f"upgraded to revision {head}")


@db_cmd.command("current")
@click.option("--db", help="SQLite file or postgresql:// URL [env PERCL_DB, default var/percl.db].")
def current(db: str | None) -> None:
    """Show the schema revision the database is at (changes nothing)."""
    settings = _settings(db)
    try:
        found = asyncio.run(schema_state_for(settings.db))
    except PerclError as exc:
        click.echo(f"percl: {exc}", err=True)
        sys.exit(1)
    head = schema_head()
    where = f"PERCL_DB={shown(settings.db)}"
    if found is None or found.empty:
        click.echo(f"percl: {where}: no percl schema yet (head: revision {head}; "
                   "`percl db upgrade` or `percl serve` creates it)")
    elif found.revision == head:
        click.echo(f"percl: {where}: revision {head} (head)")
    else:
        click.echo(f"percl: {where}: {_described(found)}; this percl's head is revision {head} "
                   "(`percl db upgrade` migrates it, `percl serve` too)")


def _settings(db: str | None) -> Settings:
    try:
        return from_sources(os.environ, {"PERCL_DB": db})
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None


def _described(found: SchemaState | None) -> str:
    if found is None or found.empty:
        return "a new database"
    if found.revision is not None:
        return f"revision {found.revision}"
    return f"schema version {found.legacy_version} (from before revisions)"


async def _upgrade(db: str) -> SchemaState | None:
    """The database's schema state before the upgrade (None: there was no database)."""
    before = await schema_state_for(db)
    store = store_for(db)
    await store.open()  # creates or migrates the schema (store/sql/schema_setup.py)
    await store.close()
    return before


def shown(db: str) -> str:
    """PERCL_DB as printed: a PostgreSQL URL without its password."""
    if not is_postgres(db):
        return db
    try:
        return make_url(db).render_as_string(hide_password=True)
    except ArgumentError:
        return db.split("://", 1)[0] + "://..."
