"""The leases port: which worker owns a leg (and later a conference or a queue), for how long.

Why leases: with several workers on one database, each live thing has one owner, and a worker
that dies (kill -9) must lose what it owned without anyone deciding so: its leases simply run out
unless it renews them. Every operation is one transaction in the database (PostgreSQL's row
locks do the arbitration: no home-made consensus). Times are the caller's clock; the lease length
(PERCL_LEASE_SECONDS) must dwarf the clock skew between machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class LeaseKind(StrEnum):
    """What a lease is on (stored as its value)."""

    WORKER = "worker"  # the worker itself: its heartbeat; expired means the worker is gone
    CALL = "call"  # a leg's CallSession runs on the owner
    LIVE = "live"  # a leg counted against its account's live-call limit (key: account/call)
    CONFERENCE = "conference"  # a conference's room (its participants' legs) runs on the owner
    QUEUE = "queue"  # a queue (its members' legs, its maxSize count and order) runs on the owner


@dataclass(frozen=True, slots=True)
class Lease:
    kind: LeaseKind
    key: str
    owner: str  # the owning worker's id
    expires_at: float  # seconds since the epoch


class Leases(Protocol):
    """The lease table. `now` and `until` come from the caller's clock."""

    async def acquire(self, kind: LeaseKind, key: str, owner: str, *, now: float,
                      until: float) -> bool:
        """Take (kind, key) for `owner` until `until` when nobody holds it, its lease ran out
        (expires_at <= now), or `owner` holds it already; True when `owner` holds it now."""
        ...

    async def renew(self, owner: str, *, now: float, until: float) -> int:
        """Move every lease `owner` holds to `until` (the heartbeat: one statement); returns
        how many. A lease that ran out but that no other worker took yet is still `owner`'s
        and is renewed too (a worker that stalled, alone); one another worker took
        (`take_expired`, `acquire`) has another owner and is not."""
        ...

    async def release(self, kind: LeaseKind, key: str, owner: str) -> None:
        """Give up (kind, key) if `owner` holds it; nothing happens otherwise."""
        ...

    async def transfer(self, kind: LeaseKind, key: str, owner: str, to: str, *, now: float,
                       until: float) -> bool:
        """Hand (kind, key) from `owner` to `to` until `until`, if `owner` holds it unexpired;
        True when `to` holds it now (a leg moving between workers: never unowned meanwhile)."""
        ...

    async def holder(self, kind: LeaseKind, key: str, *, now: float) -> str | None:
        """The worker whose unexpired lease covers (kind, key), or None."""
        ...

    async def live(self, kind: LeaseKind, *, now: float) -> Sequence[Lease]:
        """Every unexpired lease of `kind` (meant for "worker": a few rows)."""
        ...

    async def expired(self, now: float, *, limit: int) -> Sequence[Lease]:
        """Up to `limit` leases that ran out (expires_at <= now), oldest first: what dead
        workers left."""
        ...

    async def take_expired(self, kind: LeaseKind, keys: Sequence[str], owner: str, *,
                           now: float, until: float) -> Sequence[str]:
        """Take every lease of `kind` among `keys` that ran out for `owner` until `until`, all
        at once (a dead worker's calls: one statement, not one per call); returns the keys
        `owner` holds now (another worker may have been first to some)."""
        ...

    async def drop_expired(self, kind: LeaseKind, keys: Sequence[str], *, now: float) -> int:
        """Delete the leases of `kind` among `keys` that ran out (a dead worker's live-call
        counts, its rooms: nothing to tidy but the row); returns how many."""
        ...

    async def release_all(self, kind: LeaseKind, keys: Sequence[str], owner: str) -> None:
        """Give up the leases of `kind` among `keys` that `owner` holds (`release`, at once)."""
        ...
