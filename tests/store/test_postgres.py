"""What PostgreSQL adds to the SQL store: PERCL_DB=postgresql://... selects it, its errors map onto
the executor contract by SQLSTATE (a unique violation only is `Duplicate`; a lock that does not come
in time is `StoreBusy`), migrations run on it as on SQLite, and `percl db upgrade` applies them.

The store contract itself runs on PostgreSQL as the "postgresql" kind of tests/store/conftest.py.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from percl.app import store_for
from percl.cli.main import cli
from percl.engine.ports import Store
from percl.errors import StoreBusy
from percl.store import schema
from percl.store.postgres import PostgresStore, async_url
from percl.store.sql.alchemy import _translated
from percl.store.sql.executor import Duplicate
from percl.store.sql.store import SqlStore
from percl.store.sqlite import SqliteStore
from tests import postgres
from tests.store.conftest import new_store
from tests.store.samples import ACCOUNT, MEMBER, NUMBER, QU1, call_id


@pytest.fixture
async def pg() -> AsyncIterator[PostgresStore]:
    store = PostgresStore(postgres.server().new_database(), lock_timeout_ms=100)
    await store.open()
    yield store
    await store.close()


def test_postgresql_urls_select_the_postgresql_store() -> None:
    for db in ("postgresql://u:pw@db.example:5433/percl", "postgres://u:pw@db.example:5433/percl",
               "postgresql+asyncpg://u:pw@db.example:5433/percl"):
        store = store_for(db)
        assert isinstance(store, PostgresStore)
        assert store.url == "postgresql+asyncpg://u:pw@db.example:5433/percl"
        assert store.executor.where == "postgresql+asyncpg://u:***@db.example:5433/percl"
    assert isinstance(store_for("postgresql.db"), SqliteStore)  # a file so named is SQLite
    assert async_url("postgresql:///percl?host=/run/pg") == "postgresql+asyncpg:///percl?host=/run/pg"


@pytest.mark.parametrize("kind", ["postgresql", "sql-generic"])
async def test_only_a_unique_violation_is_a_duplicate(kind: str, tmp_path: Path) -> None:
    store = new_store(kind, tmp_path)
    assert isinstance(store, SqlStore)
    await store.open()
    try:
        await store.put_number(NUMBER)
        with pytest.raises(Duplicate):  # the phone number is held by another number id
            await store.executor.write(insert(schema.numbers).values(
                {**schema.NUMBER_MAP.to_row(NUMBER), "phone_number_id": "PN" + "9" * 40}))
        # A NOT NULL column left out is a bug, not a duplicate: it is raised as it is.
        with pytest.raises(IntegrityError) as raised:
            await store.executor.write(insert(schema.accounts).values(account_id="AC" + "5" * 40))
        assert not isinstance(raised.value, Duplicate)
    finally:
        await store.close()


async def test_a_write_that_waits_for_another_transactions_lock_is_store_busy(pg: PostgresStore) -> None:
    await pg.put_account(ACCOUNT)
    engine = create_async_engine(pg.url)
    try:
        async with engine.connect() as other:
            await other.execute(text("SELECT 1 FROM accounts WHERE account_id = :a FOR UPDATE"),
                                {"a": ACCOUNT.account_id})  # held until `other` ends
            with pytest.raises(StoreBusy):
                await pg.put_account(dataclasses.replace(ACCOUNT, label="changed"))
            await other.rollback()
    finally:
        await engine.dispose()
    assert await pg.get_account(ACCOUNT.account_id) == ACCOUNT  # nothing was written
    await pg.put_account(dataclasses.replace(ACCOUNT, label="changed"))  # free again
    pg.invalidate_cache()
    stored = await pg.get_account(ACCOUNT.account_id)
    assert stored is not None and stored.label == "changed"


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("sqlstate", "expected"), [
    ("23505", Duplicate), ("40001", StoreBusy), ("40P01", StoreBusy), ("55P03", StoreBusy),
    ("23502", DBAPIError), ("42P01", DBAPIError)])
def test_driver_errors_are_read_by_sqlstate(sqlstate: str, expected: type[Exception]) -> None:
    with pytest.raises(expected) as raised, _translated():
        raise DBAPIError("UPDATE ...", None, _DriverError(sqlstate))
    if expected is DBAPIError:  # not turned into one of the contract's
        assert not isinstance(raised.value, Duplicate | StoreBusy)


async def _drop_member_order(store: Store, url: str) -> None:
    """Turn a current database back into what a version-4 percl left (no `inserted` column)."""
    await store.close()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE queue_members DROP COLUMN inserted"))
            await conn.execute(text("UPDATE schema_version SET version = 4"))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["postgresql", "sqlite-file"])
async def test_a_version_4_database_gets_the_member_order_and_keeps_its_rows(
    kind: str, tmp_path: Path
) -> None:
    store = new_store(kind, tmp_path)
    url = str(getattr(store, "url", ""))
    await store.open()
    await store.put_member(MEMBER)
    await _drop_member_order(store, url)
    for _ in range(2):  # the second open finds the version current: nothing to do
        store = new_store(kind, tmp_path) if kind == "sqlite-file" else PostgresStore(url)
        await store.open()
        try:
            assert await store.list_members(QU1) == [MEMBER]
            await store.put_member(dataclasses.replace(MEMBER, call_id=call_id(7)))
            assert [m.call_id for m in await store.list_members(QU1)] == [MEMBER.call_id, call_id(7)]
            await store.delete_member(call_id(7))
        finally:
            await store.close()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version FROM schema_version"))).all() == [
                (schema.SCHEMA_VERSION,)]
    finally:
        await engine.dispose()


async def test_a_migration_cut_short_after_adding_the_column_is_finished(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    store = SqliteStore.for_path(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as raw:  # the column is there, the version was not recorded
        raw.execute("UPDATE schema_version SET version = 4")
    await store.open()
    await store.put_member(MEMBER)
    assert await store.list_members(QU1) == [MEMBER]
    await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]


def test_percl_db_upgrade_migrates_an_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "up.db"
    with sqlite3.connect(path) as raw:  # what a version-1 percl left
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", str(path)], env={"PERCL_DB": None})
    assert result.exit_code == 0, result.output
    assert f"PERCL_DB={path} is up to date" in result.output
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"calls", "queue_members", "blobs"} <= tables


def test_percl_db_upgrade_creates_a_postgresql_schema_and_hides_the_password() -> None:
    url = postgres.server().new_database().replace("postgresql+asyncpg://percl@",
                                                   "postgresql://percl:s3cret@")
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"PERCL_DB": url})
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.output and "s3cret" not in result.output
    again = CliRunner().invoke(cli, ["db", "upgrade"], env={"PERCL_DB": url})
    assert again.exit_code == 0, again.output


def test_percl_db_upgrade_names_an_unreachable_server_in_one_line() -> None:
    closed_port = postgres._free_port()
    url = f"postgresql://percl:s3cret@127.0.0.1:{closed_port}/nowhere"
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"PERCL_DB": url})
    assert result.exit_code == 1
    assert f"PERCL_DB=postgresql+asyncpg://percl:***@127.0.0.1:{closed_port}/nowhere" in result.output
    assert "cannot use the database" in result.output and "s3cret" not in result.output


def test_percl_db_upgrade_on_memory_says_there_is_nothing_to_do() -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"PERCL_DB": "memory://"})
    assert result.exit_code == 0 and "nothing to upgrade" in result.output


async def test_a_platform_on_postgresql_seeds_its_account_and_finds_it_after_a_restart() -> None:
    from percl.app import Platform
    from percl.config import from_sources

    url = postgres.server().new_database().replace("postgresql+asyncpg://", "postgresql://")
    settings = from_sources({"PERCL_DB": url})
    async with Platform(settings, probe_media=False) as first:
        assert isinstance(first.store, PostgresStore)
        assert first.seed is not None and first.seed.created
        account = first.account
    async with Platform(settings, probe_media=False) as second:
        assert second.seed is not None and not second.seed.created
        assert second.account == account


async def test_a_nul_in_text_is_stored_as_a_replacement_character_and_loses_no_row(
    pg: PostgresStore,
) -> None:
    from percl.domain.enums import LogLevel
    from percl.domain.records import LogEntry
    from percl.engine.ports import LogFilter
    from tests.store.samples import AC1

    await pg.put_account(dataclasses.replace(ACCOUNT, alias="a\x00b"))
    pg.invalidate_cache()
    stored = await pg.get_account(ACCOUNT.account_id)
    assert stored is not None and stored.alias == "a\ufffdb"
    await pg.add_log(LogEntry(1, LogLevel.INFO, AC1, "reply was x\x00y"))
    await pg.add_log(LogEntry(2, LogLevel.INFO, AC1, "fine"))  # in the same batch: kept too
    assert [e.message for e in await pg.list_logs(AC1, LogFilter())] == ["fine", "reply was x\ufffdy"]
    assert await pg.list_applications(AC1, "no\x00such") == []  # a value in a WHERE clause too


async def test_percl_serve_shows_and_records_a_postgresql_url_without_its_password(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from percl.app import Platform
    from percl.cli.credentials import read_entries
    from percl.cli.serve import _banner, _write_credentials
    from percl.config import Settings

    url = postgres.server().new_database().replace("postgresql+asyncpg://percl@",
                                                   "postgresql://percl:s3cret@")
    out = StringIO()
    async with Platform(Settings(db=url), probe_media=False) as platform:
        _banner(Console(file=out, width=200), platform, None, tmp_path / "credentials.json", None)
        _write_credentials(tmp_path / "credentials.json", platform, None)
    assert "percl:***@" in out.getvalue() and "s3cret" not in out.getvalue()
    entry = read_entries(tmp_path / "credentials.json")[0]
    assert "s3cret" not in entry.db and entry.db.startswith("postgresql")
