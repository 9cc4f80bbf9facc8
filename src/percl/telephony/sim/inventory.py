"""The numbers the simulated network sells: a deterministic pool of fictional NANP numbers.

Every number is in the range the North American Numbering Plan reserves for fiction,
NPA-555-0100 to NPA-555-0199, so nothing percl hands out can ring a real person. The pool holds
those 100 lines for each of 50 US area codes and 6 Canadian ones (region = the state or province
code, country "US" or "CA"), plus the same lines under the 7 toll-free codes (tollFree true,
country "US", region "" because toll-free numbers belong to no state): 6,300 numbers in all.

The order of `available_numbers()` is stable: area codes in the order of the tables below, then
line number ascending; toll-free codes last.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from percl.engine.ports import AvailableNumber

US_AREA_CODES: tuple[tuple[str, str], ...] = (
    ("201", "NJ"), ("202", "DC"), ("206", "WA"), ("212", "NY"), ("213", "CA"),
    ("214", "TX"), ("215", "PA"), ("303", "CO"), ("305", "FL"), ("312", "IL"),
    ("313", "MI"), ("314", "MO"), ("404", "GA"), ("415", "CA"), ("425", "WA"),
    ("469", "TX"), ("480", "AZ"), ("503", "OR"), ("504", "LA"), ("512", "TX"),
    ("516", "NY"), ("602", "AZ"), ("608", "WI"), ("612", "MN"), ("615", "TN"),
    ("617", "MA"), ("619", "CA"), ("646", "NY"), ("702", "NV"), ("704", "NC"),
    ("713", "TX"), ("718", "NY"), ("720", "CO"), ("727", "FL"), ("732", "NJ"),
    ("773", "IL"), ("801", "UT"), ("808", "HI"), ("813", "FL"), ("816", "MO"),
    ("847", "IL"), ("860", "CT"), ("901", "TN"), ("907", "AK"), ("913", "KS"),
    ("916", "CA"), ("919", "NC"), ("929", "NY"), ("971", "OR"), ("978", "MA"),
)  # fmt: skip

CA_AREA_CODES: tuple[tuple[str, str], ...] = (
    ("416", "ON"), ("613", "ON"), ("514", "QC"), ("604", "BC"), ("403", "AB"), ("902", "NS"),
)  # fmt: skip

TOLL_FREE_CODES: tuple[str, ...] = ("800", "833", "844", "855", "866", "877", "888")

FICTIONAL_LINES = range(100, 200)  # 555-0100 .. 555-0199


def _lines(npa: str) -> list[str]:
    return [f"+1{npa}555{line:04d}" for line in FICTIONAL_LINES]


def build_pool() -> tuple[AvailableNumber, ...]:
    """Every number of the pool, in the documented stable order."""
    pool: list[AvailableNumber] = []
    for country, table in (("US", US_AREA_CODES), ("CA", CA_AREA_CODES)):
        for npa, region in table:
            pool.extend(
                AvailableNumber(phone_number=n, region=region, country=country) for n in _lines(npa)
            )
    for npa in TOLL_FREE_CODES:
        pool.extend(
            AvailableNumber(phone_number=n, region="", country="US", toll_free=True)
            for n in _lines(npa)
        )
    return tuple(pool)


class SimInventory:
    """The NumberInventory of the simulated network. Immutable; `lookup` is a dict hit."""

    def __init__(self) -> None:
        self._pool = build_pool()
        self._by_number = MappingProxyType({n.phone_number: n for n in self._pool})

    def available_numbers(self) -> Sequence[AvailableNumber]:
        """Every purchasable number, in a stable order (the caller filters out owned ones)."""
        return self._pool

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        """The entry for `phone_number`, or None when it is not in the pool."""
        return self._by_number.get(phone_number)
