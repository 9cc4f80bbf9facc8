"""The incoming numbers table (cached: each inbound call looks its number up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from percl.domain.records import IncomingNumber
from percl.errors import Conflict
from percl.store.schema import NUMBER_MAP, numbers
from percl.store.sql.cache import RecordCache
from percl.store.sql.executor import Duplicate, Executor
from percl.store.sql.statements import Statements, delete_by_key, select_by

_GET = select_by(NUMBER_MAP, "phone_number_id")
_FIND = select_by(NUMBER_MAP, "phone_number")
_DELETE = delete_by_key(numbers)


class Numbers:
    def __init__(self, db: Executor, statements: Statements, cache: RecordCache) -> None:
        self._db = db
        self._cache = cache
        self._put = statements.upsert(numbers)

    async def put(self, number: IncomingNumber) -> None:
        """Insert or replace by phone_number_id.

        Raises `percl.errors.Conflict` when another record already holds `number.phone_number`.
        """
        self._cache.drop_number(number.phone_number_id)
        try:
            await self._db.write(self._put, NUMBER_MAP.to_row(number))
        except Duplicate as exc:
            raise Conflict(
                f"phone number {number.phone_number} is already owned",
                details={"phoneNumber": number.phone_number},
            ) from exc
        self._cache.drop_number(number.phone_number_id)  # a read may have come in meanwhile
        self._cache.keep_number(number)

    async def get(self, phone_number_id: str) -> IncomingNumber | None:
        """The number by id (cached like accounts)."""
        found = self._cache.numbers.get(phone_number_id)
        if found is None:
            found = await self._read(_GET, {"phone_number_id": phone_number_id})
        return found

    async def find(self, phone_number: str) -> IncomingNumber | None:
        """The number whose phone_number is exactly `phone_number` (cached like accounts)."""
        found = self._cache.by_phone.get(phone_number)
        if found is None:
            found = await self._read(_FIND, {"phone_number": phone_number})
        return found

    async def _read(self, stmt: Select[Any], params: dict[str, str]) -> IncomingNumber | None:
        generation = self._cache.generation
        rows = await self._db.fetch(stmt, params)
        found = NUMBER_MAP.from_values(rows[0]) if rows else None
        if found is not None and generation == self._cache.generation:
            self._cache.keep_number(found)
        return found

    async def list(self, account_id: str) -> Sequence[IncomingNumber]:
        """The account's numbers, oldest first."""
        c = numbers.c
        stmt = (
            select(*NUMBER_MAP.columns)
            .where(c.account_id == account_id)
            .order_by(c.date_created, c.phone_number_id)
        )
        return [NUMBER_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete(self, phone_number_id: str) -> None:
        """Delete the number; deleting an absent one does nothing."""
        self._cache.drop_number(phone_number_id)
        await self._db.write(_DELETE, {"phone_number_id": phone_number_id})
