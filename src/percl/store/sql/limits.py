"""`percl.engine.ports.SharedLimits` in SQL: live calls as leases, rates as one row per key.

Live calls: each live leg of an account is a lease of kind "live" keyed `account/call`, held by
the worker running the leg. Renewed with the worker's other leases (one UPDATE per heartbeat),
so a dead worker's legs stop counting when its leases run out, with no counter to repair. Taking
one is an INSERT ... SELECT ... WHERE (live leases of the account) < limit, run after a
transaction-level advisory lock per account: under READ COMMITTED two such statements would each
count before the other's row exists; with the lock the second counts after the first committed.
Counting walks the primary key's (kind, key) range of the account (the C collation keeps it a
range): each new leg costs in proportion to the account's live calls.

Rates: one row per key holding its GCRA tat (engine/ports/limits.py). Spending is an upsert whose
update runs only when the event conforms (one statement, the row locked by it: two workers never
both spend the last event); reserving always moves tat and returns it (RETURNING).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Float,
    Insert,
    String,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
)

from percl.engine.ports.leases import LeaseKind
from percl.engine.ports.limits import Rate, live_key
from percl.store.schema import leases, rates
from percl.store.sql.executor import Executor, Params, Statement
from percl.store.sql.statements import Statements

#: Float arithmetic lands a hair past an exact turn (engine/admission._EPSILON).
_EPSILON = 1e-9
_LIVE = LeaseKind.LIVE.value


class LockingExecutor(Executor, Protocol):
    async def write_locked(self, lock: int, stmt: Statement, params: Params) -> int:
        """`stmt` after taking advisory lock `lock` in one transaction (sql/alchemy.py)."""
        ...


def account_lock(account_id: str) -> int:
    """The advisory lock (a signed 64-bit number) that orders live-call counting of an account."""
    return int.from_bytes(hashlib.sha256(b"live:" + account_id.encode()).digest()[:8], "big",
                          signed=True)


def _enter(statements: Statements) -> Insert:
    live = (select(func.count()).select_from(leases)
            .where(leases.c.kind == _LIVE, leases.c.key >= bindparam("lo", type_=String),
                   leases.c.key < bindparam("hi", type_=String),
                   leases.c.expires_at > bindparam("now", type_=Float))
            .scalar_subquery())
    row = select(literal(_LIVE, String), bindparam("key", type_=String),
                 bindparam("owner", type_=String), bindparam("until", type_=Float)).where(
        live < bindparam("limit"))
    stmt = statements.insert(leases).from_select(
        [leases.c.kind, leases.c.key, leases.c.owner, leases.c.expires_at], row)
    taken: Insert = stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
        where=(leases.c.expires_at <= bindparam("now", type_=Float))
        | (leases.c.owner == stmt.excluded.owner))
    return taken


def _moved_tat() -> ColumnElement[float]:
    """max(tat, now) + T: where tat goes when one more event happens."""
    now = bindparam("now", type_=Float)
    return case((rates.c.tat > now, rates.c.tat), else_=now) + bindparam("t", type_=Float)


def _spend(statements: Statements) -> Insert:
    stmt = statements.insert(rates).values(key=bindparam("key"), tat=bindparam("first"))
    spent: Insert = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"tat": _moved_tat()},
        where=rates.c.tat - bindparam("tau", type_=Float) <= bindparam("now", type_=Float)
        + _EPSILON)
    return spent


def _reserve(statements: Statements) -> Insert:
    stmt = statements.insert(rates).values(key=bindparam("key"), tat=bindparam("first"))
    reserved: Insert = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"tat": _moved_tat()}).returning(rates.c.tat)
    return reserved


_TAT = select(rates.c.tat).where(rates.c.key == bindparam("key"))
_LEAVE = delete(leases).where(leases.c.kind == _LIVE, leases.c.key == bindparam("key"),
                              leases.c.owner == bindparam("owner"))
_SWEEP = delete(rates).where(rates.c.tat <= bindparam("now"))


class SqlLimits:
    """`percl.engine.ports.SharedLimits` over an executor (see the module doc)."""

    def __init__(self, db: LockingExecutor, statements: Statements) -> None:
        self._db = db
        self._enter = _enter(statements)
        self._spend = _spend(statements)
        self._reserve = _reserve(statements)

    async def enter_live(self, account_id: str, call_id: str, owner: str, *, limit: int,
                         now: float, until: float) -> bool:
        # "0" is the character after "/": [account/, account0) is every key of the account.
        taken = await self._db.write_locked(account_lock(account_id), self._enter, {
            "lo": f"{account_id}/", "hi": f"{account_id}0", "now": now, "limit": limit,
            "key": live_key(account_id, call_id), "owner": owner, "until": until})
        return taken == 1

    async def leave_live(self, account_id: str, call_id: str, owner: str) -> None:
        await self._db.write(_LEAVE, {"key": live_key(account_id, call_id), "owner": owner})

    async def reserve(self, key: str, rate: Rate, *, now: float) -> float:
        t = rate.interval_s
        rows = await self._db.fetch(self._reserve, {"key": key, "first": now + t, "now": now,
                                                    "t": t})
        turn = max(now, float(rows[0][0]) - t - rate.tolerance_s)
        return turn - now

    async def spend(self, key: str, rate: Rate, *, now: float) -> float:
        t = rate.interval_s
        spent = await self._db.write(self._spend, {
            "key": key, "first": now + t, "now": now, "t": t, "tau": rate.tolerance_s})
        if spent == 1:
            return 0.0
        rows = await self._db.fetch(_TAT, {"key": key})
        if not rows:  # swept meanwhile: the allowance is full again
            return await self.spend(key, rate, now=now)
        return max(_EPSILON, float(rows[0][0]) - rate.tolerance_s - now)

    async def sweep(self, now: float) -> int:
        return await self._db.write(_SWEEP, {"now": now})
