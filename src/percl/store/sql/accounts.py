"""The accounts table (cached: auth reads the account on every REST request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from percl.domain.records import Account
from percl.store.schema import ACCOUNT_MAP, accounts
from percl.store.sql.cache import RecordCache
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, select_by

_GET = select_by(ACCOUNT_MAP, "account_id")


class Accounts:
    def __init__(self, db: Executor, statements: Statements, cache: RecordCache) -> None:
        self._db = db
        self._cache = cache
        self._put = statements.upsert(accounts)

    async def put(self, account: Account) -> None:
        cache = self._cache.accounts
        self._cache.changing()
        cache.pop(account.account_id, None)
        await self._db.write(self._put, ACCOUNT_MAP.to_row(account))
        cache[account.account_id] = account

    async def get(self, account_id: str) -> Account | None:
        """The account (from the cache when it has been read or written since `open()`)."""
        found = self._cache.accounts.get(account_id)
        if found is None:
            generation = self._cache.generation
            rows = await self._db.fetch(_GET, {"account_id": account_id})
            found = ACCOUNT_MAP.from_values(rows[0]) if rows else None
            if found is not None and generation == self._cache.generation:
                self._cache.accounts[account_id] = found
        return found

    async def list(self) -> Sequence[Account]:
        """Every account, oldest first."""
        stmt = select(*ACCOUNT_MAP.columns).order_by(accounts.c.date_created, accounts.c.account_id)
        return [ACCOUNT_MAP.from_values(row) for row in await self._db.fetch(stmt)]
