"""Schema migrations with Alembic, for SQLite and PostgreSQL, run by percl itself (no alembic.ini).

versions/ holds the revisions. 0001 is the baseline: schema 10 as it was when migrations moved to
Alembic (baseline.py, frozen). Every later change of shape is one more revision (docs/ARCHITECTURE.md,
"Where a change goes: a schema change"); store/schema.py is always the newest shape, and a test
compares it with what the revisions build (Alembic's compare_metadata, on both dialects).

`upgrade` runs at every open of a SQL store (sql/schema_setup.py) and in `percl db upgrade`:

- a new database runs every revision from the baseline (which creates the tables);
- a database an older percl made carries `schema_version` 1..9 and no `alembic_version`: the
  baseline brings it to 10 with the steps percl used before Alembic, then the later revisions run;
- a database at the head is left alone (four small reads).

The `schema_version` table stays: pre-Alembic percls read it and refuse a database whose version
is above theirs, so each revision bumps `schema.SCHEMA_VERSION` by one and `upgrade` records it.
A database whose revision this percl does not know, or whose `schema_version` is above it, is
refused (a newer percl made it). Nothing is downgraded: a backup is the way back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, make_url, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from percl.errors import DatabaseUnusable
from percl.store import schema
from percl.store.migrations import baseline

HERE = Path(__file__).resolve().parent
#: The baseline revision's id (schema 10).
BASELINE = "0001"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What a database records about its schema."""

    revision: str | None  # alembic_version (None: no Alembic revision yet)
    legacy_version: int | None  # schema_version (None: no percl schema at all)

    @property
    def empty(self) -> bool:
        return self.revision is None and self.legacy_version is None


def config(location: Path = HERE) -> Config:
    """Alembic's configuration for percl's scripts (what an alembic.ini would say); `location`:
    another copy of this folder (tests)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return cfg


@cache
def scripts() -> ScriptDirectory:
    """The revisions (read once per process: every store open consults them)."""
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision (there is one line of revisions: no branches)."""
    found = scripts().get_current_head()
    if found is None:
        raise RuntimeError(f"no Alembic revision in {HERE / 'versions'}")
    return found


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in scripts().walk_revisions())


def state(conn: Connection) -> SchemaState:
    """The revision and legacy version `conn`'s database records (reads only)."""
    revision = MigrationContext.configure(conn).get_current_revision()
    return SchemaState(revision, baseline.legacy_version(conn))


async def read_state(url: str, where: str | None = None) -> SchemaState:
    """The state of the database at the SQLAlchemy (async) `url`, read only. Raises
    DatabaseUnusable (one line naming PERCL_DB=`where`, by default the URL without its password)
    when it cannot be read."""
    where = where or make_url(url).render_as_string(hide_password=True)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(state)
    except (DBAPIError, OSError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc  # without SQLAlchemy's SQL
        raise DatabaseUnusable(f"PERCL_DB={where}: cannot use the database ({cause})") from exc
    finally:
        await engine.dispose()


def upgrade(conn: Connection, where: str) -> SchemaState:
    """Bring `conn`'s database to the head revision (see the module doc); the state it found.
    `where` names the database in an error (PERCL_DB=...). The caller commits, and on
    PostgreSQL holds the lock that keeps two processes from doing this at once."""
    found = state(conn)
    _refuse_newer(found, where)
    if found.legacy_version is not None and found.legacy_version < baseline.VERSION:
        # Also with a revision recorded: a database put back to an old version is mended.
        baseline.bring_to_baseline(conn)
    if found.revision != head():
        _run_to_head(conn)
    if found.legacy_version != schema.SCHEMA_VERSION:
        conn.execute(update(schema.schema_version).values(version=schema.SCHEMA_VERSION))
    return found


def _refuse_newer(found: SchemaState, where: str) -> None:
    if found.revision is not None and found.revision not in known_revisions():
        made = f"revision {found.revision}"
    elif found.legacy_version is not None and found.legacy_version > schema.SCHEMA_VERSION:
        made = f"version {found.legacy_version}"
    else:
        return
    raise DatabaseUnusable(
        f"PERCL_DB={where}: database schema {made} is newer than this percl supports "
        f"(schema version {schema.SCHEMA_VERSION}, revision {head()}); upgrade percl or use "
        "another database")


def _run_to_head(conn: Connection) -> None:
    """Alembic's `upgrade head` on `conn`, in the caller's transaction (no env.py needed)."""
    directory = scripts()

    def steps(revision: str, _context: MigrationContext) -> list[RevisionStep]:
        return directory._upgrade_revs("head", revision)  # what alembic.command.upgrade runs

    with EnvironmentContext(config(), directory, fn=steps, destination_rev="head") as env:
        env.configure(connection=conn, target_metadata=schema.metadata)
        with env.begin_transaction():
            env.run_migrations()
