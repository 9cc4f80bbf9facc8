"""Schema migrations (store/migrations/, Alembic) on SQLite and PostgreSQL: a new database
reaches the head revision, databases older percls made (tests/store/old_schemas/) reach it with
their rows intact, `percl db upgrade` twice changes nothing the second time, and store/schema.py
is exactly what the revisions build, so a change of schema without a revision fails here."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.ext.asyncio import create_async_engine

from percl.cli.main import cli
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter, Store
from percl.errors import DatabaseUnusable
from percl.store import migrations, schema
from percl.store.migrations import baseline
from percl.store.migrations.__main__ import main
from percl.store.postgres import PostgresStore
from percl.store.sql.schema_setup import SCHEMA_LOCK
from percl.store.sqlite import SqliteStore
from tests import postgres
from tests.store import samples
from tests.store.conftest import new_store
from tests.store.old_schemas.make import ROWS

OLD = Path(__file__).resolve().parent / "old_schemas"
T = TypeVar("T")


def _url(store: Store) -> str:
    return str(store.url)


async def _on(url: str, work: Callable[[Connection], T]) -> T:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def _diff(conn: Connection) -> list[Any]:
    """What Alembic's autogenerate would add to make the database match store/schema.py."""
    return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))


def _rows(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (but Alembic's), each table's rows in primary-key order."""
    found = MetaData()
    found.reflect(conn)
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, table in found.tables.items():
        if name != "alembic_version":
            order = list(table.primary_key.columns) or list(table.columns)
            rows[name] = [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]
    return rows


async def _load_postgres_fixture(name: str) -> str:
    url = postgres.server().new_database()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in (OLD / name).read_text().split(";\n"):
                if statement.strip():
                    await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()
    return url


def _load_sqlite_fixture(name: str, folder: Path) -> Path:
    file = folder / "old.db"
    with sqlite3.connect(file) as conn:
        conn.executescript((OLD / name).read_text())
    conn.close()
    return file


def test_the_revisions_are_one_line_from_the_baseline_and_count_the_schema_version() -> None:
    """Each revision after the baseline bumps schema.SCHEMA_VERSION by one (the number the percls
    from before Alembic check), so a revision without the bump, or the reverse, fails here."""
    revisions = list(migrations.scripts().walk_revisions())
    assert migrations.scripts().get_heads() == [migrations.head()]
    assert [r.revision for r in revisions][-1] == migrations.BASELINE
    assert baseline.VERSION + len(revisions) - 1 == schema.SCHEMA_VERSION


@pytest.mark.parametrize("kind", ["sqlite-file", "postgresql"])
async def test_a_new_database_reaches_the_head_and_is_what_schema_py_says(
    kind: str, tmp_path: Path
) -> None:
    store = new_store(kind, tmp_path)
    await store.open()
    await store.close()
    url = _url(store)
    found = await _on(url, migrations.state)
    assert found == migrations.SchemaState(migrations.head(), schema.SCHEMA_VERSION)
    assert await _on(url, _diff) == []


@pytest.mark.parametrize("kind", ["sqlite-file", "postgresql"])
async def test_a_schema_change_without_a_revision_shows_in_the_comparison(
    kind: str, tmp_path: Path
) -> None:
    """The comparison above can fail: a column the revisions never added is reported."""
    store = new_store(kind, tmp_path)
    await store.open()
    await store.close()
    await _on(_url(store), lambda conn: conn.execute(text("ALTER TABLE calls DROP COLUMN web_rtc")))
    diff = await _on(_url(store), _diff)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "web_rtc")]


async def _check_old_rows_survive(store: Store, url: str, before: dict[str, list[dict[str, Any]]],
                                  version: int) -> None:
    await store.open()
    try:
        # Through the store: each record reads back as it was written (added columns: defaults).
        reads = {
            "accounts": store.get_account(samples.ACCOUNT.account_id),
            "applications": store.get_application(samples.APPLICATION.application_id),
            "numbers": store.get_number(samples.NUMBER.phone_number_id),
            "calls": store.get_call(samples.CALL.call_id),
            "conferences": store.get_conference(samples.CONFERENCE.conference_id),
            "queues": store.get_queue(samples.QUEUE.queue_id),
            "queue_members": store.get_member(samples.MEMBER.call_id),
            "messages": store.get_message(samples.MESSAGE.message_id),
        }
        for (record_map, record) in ROWS:
            name = record_map.table.name
            if name in before and name in reads:
                assert await reads.pop(name) == record, name
        for pending in reads.values():  # tables the old version did not have
            assert await pending is None
        if "participants" in before:
            assert await store.get_participant(samples.PARTICIPANT.conference_id,
                                               samples.PARTICIPANT.call_id) == samples.PARTICIPANT
        logs = await store.list_logs(samples.AC1, LogFilter())
        assert [entry.message for entry in logs] == ["old line"]
        # The store keeps working on the upgraded tables (a new log line, a second member).
        await store.add_log(LogEntry(logs[0].timestamp + 1, logs[0].level, samples.AC1, "new"))
        assert [e.message for e in await store.list_logs(samples.AC1, LogFilter())] == ["new", "old line"]
    finally:
        await store.close()
    after = await _on(url, _rows)
    for name, rows in before.items():
        if name == "schema_version":
            assert after[name] == [{"version": schema.SCHEMA_VERSION}]
            continue
        kept = [{k: row[k] for k in rows[0]} for row in after[name]] if rows else after[name]
        if name == "logs":
            kept = kept[:1]
        assert kept == rows, f"{name} (from schema version {version})"
    assert await _on(url, migrations.state) == migrations.SchemaState(
        migrations.head(), schema.SCHEMA_VERSION)
    assert await _on(url, _diff) == []


@pytest.mark.parametrize(("fixture", "version"), [("v1.sqlite.sql", 1), ("v9.sqlite.sql", 9)])
async def test_an_sqlite_file_an_old_percl_made_upgrades_with_its_rows_intact(
    fixture: str, version: int, tmp_path: Path
) -> None:
    file = _load_sqlite_fixture(fixture, tmp_path)
    url = f"sqlite+aiosqlite:///{file}"
    before = await _on(url, _rows)
    assert before["schema_version"] == [{"version": version}]
    assert before["calls"] and before["logs"]
    await _check_old_rows_survive(SqliteStore.for_path(file), url, before, version)


async def test_a_postgresql_database_an_old_percl_made_upgrades_with_its_rows_intact() -> None:
    url = await _load_postgres_fixture("v5.postgresql.sql")
    before = await _on(url, _rows)
    assert before["schema_version"] == [{"version": 5}]
    assert before["queue_members"] and "leases" not in before
    await _check_old_rows_survive(PostgresStore(url), url, before, 5)


async def test_a_database_at_a_revision_this_percl_does_not_know_is_refused(tmp_path: Path) -> None:
    store = SqliteStore.for_path(tmp_path / "new.db")
    await store.open()
    await store.close()
    await _on(store.url, lambda c: c.execute(text("UPDATE alembic_version SET version_num = 'f00d'")))
    with pytest.raises(DatabaseUnusable, match="schema revision f00d is newer than this percl"):
        await store.open()


async def test_postgresql_stores_opening_a_new_database_at_once_create_it_once() -> None:
    """Workers and machines starting together: the advisory lock lets one create the schema."""
    url = postgres.server().new_database()
    stores = [PostgresStore(url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    for s in stores:
        await s.close()
    versions = await _on(url, lambda c: c.execute(text("SELECT version_num FROM alembic_version")).all())
    assert versions == [(migrations.head(),)]
    assert await _on(url, _diff) == []


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, ["db", *args], env={"PERCL_DB": None})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("kind", ["sqlite-file", "postgresql"])
def test_percl_db_upgrade_twice_changes_nothing_the_second_time(kind: str, tmp_path: Path) -> None:
    if kind == "postgresql":
        url = asyncio.run(_load_postgres_fixture("v5.postgresql.sql"))
        db = url.replace("postgresql+asyncpg://", "postgresql://")
    else:
        url = f"sqlite+aiosqlite:///{_load_sqlite_fixture('v9.sqlite.sql', tmp_path)}"
        db = str(tmp_path / "old.db")
    head = migrations.head()
    assert "schema version" in _cli("current", "--db", db)
    assert "upgraded to revision" in _cli("upgrade", "--db", db)
    rows = asyncio.run(_on(url, _rows))
    assert f"is up to date (revision {head}): nothing to do" in _cli("upgrade", "--db", db)
    assert asyncio.run(_on(url, _rows)) == rows
    assert f": revision {head} (head)" in _cli("current", "--db", db)


def test_percl_db_current_changes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "none.db"
    assert "no percl schema yet" in _cli("current", "--db", str(file))
    assert not file.exists()


def test_a_new_revision_is_written_with_what_schema_py_adds(tmp_path: Path) -> None:
    """`python -m percl.store.migrations revision -m ...` (docs/ARCHITECTURE.md): the next number,
    autogenerated from schema.py's difference, and a file that upgrades a database."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    extra = Table("scratch_things", schema.metadata, Column("thing_id", String, primary_key=True),
                  Column("size", Integer, nullable=False))
    try:
        main(["revision", "-m", "scratch things"], location=folder)
    finally:
        schema.metadata.remove(extra)
    written = sorted((folder / "versions").glob("0*.py"))
    assert [p.name for p in written] == ["0001_baseline.py", "0002_scratch_things.py"]
    source = written[1].read_text()
    assert "down_revision: str | None = '0001'" in source and "'scratch_things'" in source
    directory = migrations.config(folder)
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        directory.attributes["connection"] = conn
        command.upgrade(directory, "head")
        assert inspect(conn).has_table("scratch_things")
        assert migrations.state(conn).revision == "0002"
    engine.dispose()


async def test_a_store_waits_for_another_process_migrating_past_its_lock_timeout() -> None:
    """A start-up waits for the schema lock longer than the store's lock_timeout (which is for
    rows): with 50 ms it gave up while another percl migrated (under load, creating the tables
    took over the default 2 s, and the store failed to open)."""
    url = postgres.server().new_database()
    holder = create_async_engine(url)
    try:
        async with holder.connect() as conn:
            await conn.execute(select(func.pg_advisory_lock(SCHEMA_LOCK)))
            opening = asyncio.ensure_future(PostgresStore(url, lock_timeout_ms=50).open())
            waited = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND clock_timestamp() - query_start > interval '300 milliseconds'")
            for _ in range(1000):  # real time: PostgreSQL's own lock wait (20 s at most)
                seen = (await conn.execute(waited)).scalar()
                await conn.commit()  # pg_stat_activity is a snapshot per transaction
                if seen or opening.done():
                    break
                await asyncio.sleep(0.02)
            assert not opening.done(), opening.exception()
            await conn.execute(select(func.pg_advisory_unlock(SCHEMA_LOCK)))
            await conn.commit()
        await opening
    finally:
        await holder.dispose()
    assert await _on(url, migrations.state) == migrations.SchemaState(
        migrations.head(), schema.SCHEMA_VERSION)
