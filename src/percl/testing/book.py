"""What the platform wrote to its store, readable without awaiting.

Why: the kit's waits (`expect_status`, `wait_for`, a phone's `last_call`) are conditions that
`FakeClock.run_until` checks between timer steps, and a condition is a plain function: it cannot
await the store. `ObservedStore` sits where `Tracked` sat (every coroutine method counts as tracked
work for `settle()`) and also copies each call, conference and account it is asked to write into a
`RecordBook`, after the write succeeded. The book also keeps every status a call has had, so a test
can ask whether a call *reached* `ringing` even though it is `inProgress` by now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from percl.domain.enums import CallStatus
from percl.domain.records import Call
from percl.testing.clock import WorkTracker
from percl.testing.tracked import Tracked

# store method -> (kind, the record's key attribute)
_OBSERVED = {
    "put_call": ("call", "call_id"),
    "put_conference": ("conference", "conference_id"),
    "put_account": ("account", "account_id"),
}


class RecordBook:
    """The latest version of every call, conference and account written through the store."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {kind: {} for kind, _ in _OBSERVED.values()}
        self._statuses: dict[str, list[CallStatus]] = {}

    def record(self, kind: str, key: str, record: Any) -> None:
        """Keep `record` as the latest of its kind (first-seen order is kept for listings)."""
        self._records[kind][key] = record
        if isinstance(record, Call):
            seen = self._statuses.setdefault(key, [])
            if not seen or seen[-1] is not record.status:
                seen.append(record.status)

    def call(self, call_id: str) -> Call | None:
        found: Call | None = self._records["call"].get(call_id)
        return found

    def calls(self) -> list[Call]:
        """Every call seen, oldest first."""
        return list(self._records["call"].values())

    def conference(self, conference_id: str) -> Any:
        return self._records["conference"].get(conference_id)

    def conferences(self) -> list[Any]:
        return list(self._records["conference"].values())

    def statuses(self, call_id: str) -> list[CallStatus]:
        """Every status `call_id` has had, in order, without repeats."""
        return list(self._statuses.get(call_id, ()))

    def signing_secret(self, account_id: str) -> str | None:
        account = self._records["account"].get(account_id)
        return None if account is None else str(account.signing_secret)


class ObservedStore(Tracked):
    """A Tracked store that also copies written calls, conferences and accounts into `book`."""

    def __init__(self, target: Any, tracker: WorkTracker, book: RecordBook) -> None:
        super().__init__(target, tracker)
        self._book = book

    def _wrap(self, name: str, tracked: Any) -> Any:
        """Called once per coroutine method name (the wrapper is cached by `Tracked`)."""
        observed = _OBSERVED.get(name)
        if observed is None:
            return tracked
        return _recording(tracked, self._book, *observed)


def _recording(
    write: Callable[..., Awaitable[Any]], book: RecordBook, kind: str, key_attr: str
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(record: Any, *args: Any, **kwargs: Any) -> Any:
        result = await write(record, *args, **kwargs)
        book.record(kind, str(getattr(record, key_attr)), record)
        return result

    return wrapper
