"""The number inventory port: numbers a phone network can sell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """A number the phone network can sell (GET /AvailablePhoneNumbers)."""

    phone_number: str
    region: str
    country: str
    voice_enabled: bool = True
    sms_enabled: bool = True
    toll_free: bool = False


class NumberInventory(Protocol):
    """The numbers a phone network can sell."""

    def available_numbers(self) -> Sequence[AvailableNumber]:
        """Every purchasable number, in a stable order (owned ones are filtered by the caller)."""
        ...

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        """The inventory entry for `phone_number`, or None when the network cannot sell it."""
        ...
