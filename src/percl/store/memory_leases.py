"""`percl.engine.ports.Leases` in a dict: the lease contract without a database, for workers that
share one process (tests of the cluster on a FakeClock, where a database's thread hops would let
the clock run ahead of a renewal)."""

from __future__ import annotations

from collections.abc import Sequence

from percl.engine.ports.leases import Lease, LeaseKind


class MemoryLeases:
    """The lease table as a dict; each operation is atomic (no await inside)."""

    def __init__(self) -> None:
        self._leases: dict[tuple[LeaseKind, str], Lease] = {}

    async def acquire(self, kind: LeaseKind, key: str, owner: str, *, now: float,
                      until: float) -> bool:
        held = self._leases.get((kind, key))
        if held is not None and held.expires_at > now and held.owner != owner:
            return False
        self._leases[(kind, key)] = Lease(kind, key, owner, until)
        return True

    async def renew(self, owner: str, *, now: float, until: float) -> int:
        mine = [k for k, lease in self._leases.items() if lease.owner == owner]
        for k in mine:
            self._leases[k] = Lease(k[0], k[1], owner, until)
        return len(mine)

    async def release(self, kind: LeaseKind, key: str, owner: str) -> None:
        held = self._leases.get((kind, key))
        if held is not None and held.owner == owner:
            del self._leases[(kind, key)]

    async def transfer(self, kind: LeaseKind, key: str, owner: str, to: str, *, now: float,
                       until: float) -> bool:
        held = self._leases.get((kind, key))
        if held is None or held.owner != owner or held.expires_at <= now:
            return False
        self._leases[(kind, key)] = Lease(kind, key, to, until)
        return True

    async def holder(self, kind: LeaseKind, key: str, *, now: float) -> str | None:
        held = self._leases.get((kind, key))
        return held.owner if held is not None and held.expires_at > now else None

    async def live(self, kind: LeaseKind, *, now: float) -> Sequence[Lease]:
        return sorted((lease for lease in self._leases.values()
                       if lease.kind is kind and lease.expires_at > now), key=lambda x: x.key)

    async def expired(self, now: float, *, limit: int) -> Sequence[Lease]:
        found = sorted((lease for lease in self._leases.values() if lease.expires_at <= now),
                       key=lambda x: (x.expires_at, x.kind.value, x.key))
        return found[:limit]

    async def take_expired(self, kind: LeaseKind, keys: Sequence[str], owner: str, *,
                           now: float, until: float) -> Sequence[str]:
        taken = [key for key in keys if (held := self._leases.get((kind, key))) is not None
                 and held.expires_at <= now]
        for key in taken:
            self._leases[(kind, key)] = Lease(kind, key, owner, until)
        return taken

    async def drop_expired(self, kind: LeaseKind, keys: Sequence[str], *, now: float) -> int:
        gone = [key for key in keys if (held := self._leases.get((kind, key))) is not None
                and held.expires_at <= now]
        for key in gone:
            del self._leases[(kind, key)]
        return len(gone)

    async def release_all(self, kind: LeaseKind, keys: Sequence[str], owner: str) -> None:
        for key in keys:
            await self.release(kind, key, owner)
