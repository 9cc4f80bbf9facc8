"""The leases table: `percl.engine.ports.Leases` in single statements.

Each operation is one statement, so one transaction: taking a lease is an INSERT whose conflict
branch updates the row only while it is free to take (ran out, or already ours); PostgreSQL locks
the row for the statement, so of two workers racing for one lease exactly one sees a row changed.
The same statements run on SQLite (one worker: nothing to race).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Insert, bindparam, delete, select, update

from percl.engine.ports.leases import Lease, LeaseKind
from percl.store.schema import leases
from percl.store.sql.executor import Executor, Row
from percl.store.sql.statements import Statements

_RELEASE = delete(leases).where(leases.c.kind == bindparam("kind"), leases.c.key == bindparam("key"),
                                leases.c.owner == bindparam("owner"))
# (An UPDATE reserves the bare column names for its SET clause: the owner is `holder`.)
_RENEW = (update(leases)
          .where(leases.c.owner == bindparam("holder"))
          .values(expires_at=bindparam("until")))
_TRANSFER = (update(leases)
             .where(leases.c.kind == bindparam("of_kind"), leases.c.key == bindparam("of_key"),
                    leases.c.owner == bindparam("holder"), leases.c.expires_at > bindparam("now"))
             .values(owner=bindparam("to"), expires_at=bindparam("until")))
_HOLDER = select(leases.c.owner).where(
    leases.c.kind == bindparam("kind"), leases.c.key == bindparam("key"),
    leases.c.expires_at > bindparam("now"))
_COLUMNS = (leases.c.kind, leases.c.key, leases.c.owner, leases.c.expires_at)
_LIVE = (select(*_COLUMNS)
         .where(leases.c.kind == bindparam("kind"), leases.c.expires_at > bindparam("now"))
         .order_by(leases.c.key))


def _acquire(statements: Statements) -> Insert:
    stmt = statements.insert(leases).values(
        kind=bindparam("kind"), key=bindparam("key"), owner=bindparam("owner"),
        expires_at=bindparam("until"))
    taken: Insert = stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
        where=(leases.c.expires_at <= bindparam("now")) | (leases.c.owner == stmt.excluded.owner))
    return taken


class SqlLeases:
    """`percl.engine.ports.Leases` over an executor (see the module doc)."""

    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._acquire = _acquire(statements)

    async def acquire(self, kind: LeaseKind, key: str, owner: str, *, now: float,
                      until: float) -> bool:
        changed = await self._db.write(self._acquire, {
            "kind": kind.value, "key": key, "owner": owner, "until": until, "now": now})
        return changed == 1

    async def renew(self, owner: str, *, now: float, until: float) -> int:
        return await self._db.write(_RENEW, {"holder": owner, "until": until})

    async def release(self, kind: LeaseKind, key: str, owner: str) -> None:
        await self._db.write(_RELEASE, {"kind": kind.value, "key": key, "owner": owner})

    async def transfer(self, kind: LeaseKind, key: str, owner: str, to: str, *, now: float,
                       until: float) -> bool:
        changed = await self._db.write(_TRANSFER, {"of_kind": kind.value, "of_key": key,
                                                   "holder": owner, "to": to, "now": now,
                                                   "until": until})
        return changed == 1

    async def holder(self, kind: LeaseKind, key: str, *, now: float) -> str | None:
        rows = await self._db.fetch(_HOLDER, {"kind": kind.value, "key": key, "now": now})
        return str(rows[0][0]) if rows else None

    async def live(self, kind: LeaseKind, *, now: float) -> Sequence[Lease]:
        return _leases(await self._db.fetch(_LIVE, {"kind": kind.value, "now": now}))

    async def expired(self, now: float, *, limit: int) -> Sequence[Lease]:
        stmt = (select(*_COLUMNS).where(leases.c.expires_at <= now)
                .order_by(leases.c.expires_at, leases.c.kind, leases.c.key).limit(limit))
        return _leases(await self._db.fetch(stmt))


    # Several keys at once (a dead worker's calls): built per call, the keys inside (at most
    # SCAN_LIMIT of them), as the executor takes statements without params.

    async def take_expired(self, kind: LeaseKind, keys: Sequence[str], owner: str, *,
                           now: float, until: float) -> Sequence[str]:
        if not keys:
            return []
        of = (leases.c.kind == kind.value) & leases.c.key.in_(list(keys))
        await self._db.write(update(leases).where(of, leases.c.expires_at <= now)
                             .values(owner=owner, expires_at=until))
        # What it holds now: the rows just taken (no other worker takes an unexpired lease).
        rows = await self._db.fetch(select(leases.c.key).where(
            of, leases.c.owner == owner, leases.c.expires_at > now))
        return [str(row[0]) for row in rows]

    async def drop_expired(self, kind: LeaseKind, keys: Sequence[str], *, now: float) -> int:
        if not keys:
            return 0
        return await self._db.write(delete(leases).where(
            leases.c.kind == kind.value, leases.c.key.in_(list(keys)),
            leases.c.expires_at <= now))

    async def release_all(self, kind: LeaseKind, keys: Sequence[str], owner: str) -> None:
        if keys:
            await self._db.write(delete(leases).where(
                leases.c.kind == kind.value, leases.c.key.in_(list(keys)),
                leases.c.owner == owner))


def _leases(rows: Sequence[Row]) -> list[Lease]:
    return [Lease(LeaseKind(kind), str(key), str(owner), float(expires_at))
            for kind, key, owner, expires_at in rows]
