"""PostgreSQL's fast path (store/pg_prepared.py): the hot statements run as asyncpg prepared
statements, past SQLAlchemy's execution layer, with the same results and errors; what needs
SQLAlchemy still goes through it. The store contract on PostgreSQL (tests/store/conftest.py) is
the rest: every reusable statement of the store runs here."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.dialects import postgresql

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter
from percl.engine.ports.leases import LeaseKind
from percl.errors import StoreBusy
from percl.store import schema
from percl.store.pg_prepared import changed, compile_prepared, without_nul
from percl.store.pgbus import dsn_of
from percl.store.postgres import PostgresStore
from percl.store.sql import calls, leases, limits, logs
from percl.store.sql.executor import Duplicate
from percl.store.sql.statements import Statements
from tests import postgres
from tests.store.samples import AC1, ACCOUNT, NUMBER, call_id, mk_call

ASYNCPG = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
PG = Statements("postgresql")


@pytest.fixture
async def pg() -> AsyncIterator[PostgresStore]:
    store = PostgresStore(postgres.server().new_database(), lock_timeout_ms=100)
    await store.open()
    yield store
    await store.close()


def _sqlalchemy_statements(store: PostgresStore) -> list[str]:
    """Every statement SQLAlchemy's engine sends from now on."""
    seen: list[str] = []
    engine = store.executor._require()

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    return seen


async def test_the_hot_statements_run_past_sqlalchemy(pg: PostgresStore) -> None:
    await pg.put_account(ACCOUNT)
    seen = _sqlalchemy_statements(pg)
    call = mk_call(1)
    await pg.put_call(call)
    await pg.put_call(dataclasses.replace(call, revision=2, privacy_mode=True))
    assert await pg.get_call(call.call_id) == dataclasses.replace(call, revision=2,
                                                                  privacy_mode=True)
    for n in range(3):
        await pg.add_log(LogEntry(n, LogLevel.INFO, AC1, f"line {n}", call_id=call.call_id,
                                  metadata={"n": n}))
    await pg.flush_logs()
    assert await pg.leases.acquire(LeaseKind.CALL, call.call_id, "w1", now=1.0, until=9.0)
    assert not await pg.leases.acquire(LeaseKind.CALL, call.call_id, "w2", now=2.0, until=9.0)
    assert await pg.leases.renew("w1", now=3.0, until=12.0) == 1
    assert await pg.leases.holder(LeaseKind.CALL, call.call_id, now=11.0) == "w1"
    await pg.leases.release(LeaseKind.CALL, call.call_id, "w1")
    assert await pg.limits.enter_live(AC1, call.call_id, "w1", limit=1, now=1.0, until=9.0)
    assert not await pg.limits.enter_live(AC1, call_id(2), "w1", limit=1, now=1.0, until=9.0)
    await pg.limits.leave_live(AC1, call.call_id, "w1")
    assert await pg.limits.enter_live(AC1, call_id(2), "w1", limit=1, now=1.0, until=9.0)
    assert seen == []  # none of it went through SQLAlchemy's engine
    assert [e.message for e in await pg.list_logs(AC1, LogFilter())] == [
        "line 2", "line 1", "line 0"]
    assert seen  # a list built per call does


async def test_errors_on_the_fast_path_are_the_executor_contracts(pg: PostgresStore) -> None:
    await pg.put_number(NUMBER)
    stmt = PG.upsert(schema.numbers)
    with pytest.raises(Duplicate):  # another number id holding the same phone number
        await pg.executor.write(stmt, {**schema.NUMBER_MAP.to_row(NUMBER),
                                       "phone_number_id": "PN" + "9" * 40})
    # A batch is all or nothing: its second row breaks a NOT NULL constraint.
    rows = [calls_row(1), {**calls_row(2), "account_id": None}]
    with pytest.raises(Exception) as raised:
        await pg.executor.write_many(PG.upsert(schema.calls), rows)
    assert not isinstance(raised.value, Duplicate)
    assert await pg.get_call(call_id(1)) is None
    assert await pg.executor.write_many(PG.upsert(schema.calls), [calls_row(3)]) == 1


def calls_row(n: int) -> dict[str, Any]:
    return schema.CALL_MAP.to_row(mk_call(n))


def test_the_hot_statements_compile_for_asyncpg() -> None:
    hot = [PG.upsert(schema.calls), logs._INSERT, calls._GET, leases._acquire(PG), leases._RENEW,
           leases._RELEASE, leases._HOLDER, limits._enter(PG), limits._LEAVE]
    assert all(compile_prepared(stmt, ASYNCPG) is not None for stmt in hot)


def test_values_are_picked_in_order_with_fixed_binds_and_sqlalchemys_conversions() -> None:
    enter = compile_prepared(limits._enter(PG), ASYNCPG)
    assert enter is not None and "$9" in enter.sql
    values = enter.values({"lo": "a/", "hi": "a0", "now": 5.0, "limit": 3, "key": "a/c",
                           "owner": "w", "until": 9.0})
    assert list(values) == ["live", "a/c", "w", 9.0, "live", "a/", "a0", 5.0, 3]
    upsert = compile_prepared(PG.upsert(schema.calls), ASYNCPG)
    assert upsert is not None
    at = list(PG.upsert(schema.calls).compile(dialect=ASYNCPG).positiontup or []).index(
        "privacy_mode")
    row = {**calls_row(1), "privacy_mode": 1}  # SQLAlchemy's Boolean makes it a bool
    assert upsert.values(row)[at] is True


def test_what_needs_sqlalchemy_stays_with_it() -> None:
    listed = select(schema.calls.c.call_id).where(
        schema.calls.c.status.in_(bindparam("statuses", expanding=True)))
    assert compile_prepared(listed, ASYNCPG) is None


def test_nul_and_command_tags() -> None:
    assert list(without_nul(("a\x00b", 1, None))) == ["a\ufffdb", 1, None]
    clean = ("ab", 2.0)
    assert without_nul(clean) is clean
    assert [changed(t) for t in ("INSERT 0 1", "UPDATE 3", "DELETE 0", "BEGIN")] == [1, 3, 0, 0]


async def test_a_live_call_lease_waiting_past_the_lock_timeout_is_busy_and_leaves_nothing(
        pg: PostgresStore) -> None:
    other = await asyncpg.connect(dsn_of(pg.url))
    try:  # another worker holds the account's lock (lock_timeout: 100 ms in `pg`)
        await other.execute(f"SELECT pg_advisory_lock({limits.account_lock(AC1)})")
        for _ in range(12):  # more than the pool's connections: none is left in a transaction
            with pytest.raises(StoreBusy):
                await pg.limits.enter_live(AC1, call_id(1), "w1", limit=5, now=1.0, until=9.0)
        await other.execute(f"SELECT pg_advisory_unlock({limits.account_lock(AC1)})")
    finally:
        await other.close()
    assert await pg.limits.enter_live(AC1, call_id(1), "w1", limit=5, now=1.0, until=9.0)
    assert await pg.leases.holder(LeaseKind.LIVE, f"{AC1}/{call_id(1)}", now=2.0) == "w1"
