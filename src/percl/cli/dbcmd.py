"""`percl db upgrade`: create or migrate PERCL_DB's schema, then exit.

`percl serve` does the same at every start-up; this command does it alone, so that an operator
can upgrade a database (a PostgreSQL one shared by several machines, say) before starting the
new percl, and see the failure, if any, in one line.
"""

from __future__ import annotations

import asyncio
import os
import sys

import click
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from percl.app import store_for
from percl.config import MEMORY_DB, from_sources, is_postgres
from percl.errors import ConfigError, PerclError


@click.group("db")
def db_cmd() -> None:
    """The database PERCL_DB names (an SQLite file or postgresql://user:password@host/db)."""


@db_cmd.command("upgrade")
@click.option("--db", help="SQLite file or postgresql:// URL [env PERCL_DB, default var/percl.db].")
def upgrade(db: str | None) -> None:
    """Create the schema, or migrate it to this percl's version, and exit."""
    try:
        settings = from_sources(os.environ, {"PERCL_DB": db})
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None
    if settings.db == MEMORY_DB:
        click.echo("percl: PERCL_DB=memory:// keeps no database: nothing to upgrade")
        return
    try:
        asyncio.run(_upgrade(settings.db))
    except PerclError as exc:
        click.echo(f"percl: {exc}", err=True)
        sys.exit(1)
    click.echo(f"percl: the database at PERCL_DB={shown(settings.db)} is up to date")


async def _upgrade(db: str) -> None:
    store = store_for(db)
    await store.open()  # creates or migrates the schema (store/sql/schema_setup.py)
    await store.close()


def shown(db: str) -> str:
    """PERCL_DB as printed: a PostgreSQL URL without its password."""
    if not is_postgres(db):
        return db
    try:
        return make_url(db).render_as_string(hide_password=True)
    except ArgumentError:
        return db.split("://", 1)[0] + "://..."
