"""The exact cache of accounts, applications and numbers that SqlStore keeps.

Exact because this process is the only writer of its database (see store/sql/store.py): every
change goes through the store, which updates or drops the cached copy.
"""

from __future__ import annotations

from percl.domain.records import Account, Application, IncomingNumber


class RecordCache:
    """Accounts, applications and numbers as last written or read; exact because every change
    goes through this store (see the module docstring). `generation` moves on every change so
    that a read that was in flight across a change does not put back what it saw before it."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.applications: dict[str, Application] = {}
        self.numbers: dict[str, IncomingNumber] = {}
        self.by_phone: dict[str, IncomingNumber] = {}
        self.generation = 0

    def changing(self) -> None:
        """Call before a write to a cached table (and before dropping the cached copy)."""
        self.generation += 1

    def clear(self) -> None:
        self.changing()
        for table in (self.accounts, self.applications, self.numbers, self.by_phone):
            table.clear()

    def keep_number(self, number: IncomingNumber) -> None:
        self.numbers[number.phone_number_id] = number
        self.by_phone[number.phone_number] = number

    def drop_number(self, phone_number_id: str) -> None:
        """Forget the number under its id and every phone number it was cached under."""
        self.changing()
        self.numbers.pop(phone_number_id, None)
        stale = [p for p, n in self.by_phone.items() if n.phone_number_id == phone_number_id]
        for phone in stale:
            del self.by_phone[phone]
