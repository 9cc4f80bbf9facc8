"""The shared-limits port: an account's live calls, dial pacing and REST allowance counted in the
database that several workers share, so a limit holds for the cluster and not per worker.

Why in the database: the workers already share it, and each operation here is one statement (one
transaction) whose row lock arbitrates, so no worker needs to know the others (no home-made
consensus). One worker (SQLite, memory) has no cluster and keeps its in-process counters
(engine/admission.py, api/ratelimit.py) at no extra cost.

Rates are counted by GCRA (the generic cell rate algorithm): one number per key, its "theoretical
arrival time" (tat). An event at `now` conforms when now >= tat - tau (tau = (burst - 1) / rate)
and moves tat to max(tat, now) + 1 / rate. That is a token bucket of `rate` per second and
`burst` at once (engine/admission.TokenBucket) held in one column: an UPDATE can move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Rate:
    """`per_s` events per second, `burst` at once (a token bucket's rate and size)."""

    per_s: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_s <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_s > 0 and burst >= 1")

    @property
    def interval_s(self) -> float:
        """Seconds one event uses up (GCRA's T)."""
        return 1.0 / self.per_s

    @property
    def tolerance_s(self) -> float:
        """How far ahead of now tat may run and still let an event through (GCRA's tau)."""
        return (self.burst - 1) / self.per_s


class SharedLimits(Protocol):
    """Limits counted in the shared database. `now` and `until` come from the caller's clock
    (as leases' do: engine/ports/leases.py)."""

    async def enter_live(self, account_id: str, call_id: str, owner: str, *, limit: int,
                         now: float, until: float) -> bool:
        """Count `call_id` as one of the account's live calls, held by worker `owner` until
        `until` (renewed with the owner's leases), when fewer than `limit` are live; False
        (nothing counted) otherwise. Calls of a worker that stopped renewing no longer count."""
        ...

    async def leave_live(self, account_id: str, call_id: str, owner: str) -> None:
        """`call_id` is no longer live (nothing happens when it was not counted)."""
        ...

    async def reserve(self, key: str, rate: Rate, *, now: float) -> float:
        """Book the next turn of `key` at `rate` (pacing: never refused); returns the seconds
        from `now` until that turn (0.0: now). Turns are handed out in the order asked across
        every worker."""
        ...

    async def spend(self, key: str, rate: Rate, *, now: float) -> float:
        """Spend one event of `key`'s allowance at `rate`: 0.0 when allowed (spent), else the
        seconds until one would be (nothing spent)."""
        ...

    async def sweep(self, now: float) -> int:
        """Forget rate keys that are back at their full allowance (equal to unseen ones);
        returns how many."""
        ...


def live_key(account_id: str, call_id: str) -> str:
    """The key of a leg's `live` lease: the account's are counted by this prefix."""
    return f"{account_id}/{call_id}"
