"""An account's records as its REST resources see them: lookups that keep accounts apart, and
partial updates.

A record of another account is as unknown as a missing one (404, never 403): an id must not tell
a caller that it exists elsewhere. An update (POST on a resource) changes only the fields the
client sent, explicit nulls included, and stores a new revision only when something changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from percl.domain.records import Account, Revisable, revised
from percl.errors import NotFound


class _AccountRecord(Protocol):
    @property
    def account_id(self) -> str: ...


R = TypeVar("R", bound=_AccountRecord)


def of_account(record: R | None, account: Account, what: str, *, code: int | None = None) -> R:
    """`record` when it belongs to `account`. Raises NotFound (`{what} not found`, FreeClimb's
    `code` when given) when it is None or another account's."""
    if record is None or record.account_id != account.account_id:
        raise NotFound(f"{what} not found", code=code)
    return record


def sent_fields(body: BaseModel) -> dict[str, Any]:
    """The fields the client sent (explicit nulls included), by attribute name."""
    return {name: getattr(body, name) for name in body.model_fields_set}


async def revise(
    record: Revisable, changes: Mapping[str, Any], now: float,
    put: Callable[[Revisable], Awaitable[None]],
) -> Revisable:
    """`record` with `changes` as a new revision stored through `put`; with no changes, `record`
    itself (nothing stored). Raises whatever the store raises."""
    if not changes:
        return record
    updated = revised(record, now, **changes)
    await put(updated)
    return updated
