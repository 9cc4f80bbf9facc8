"""A worker among several on one database: its identity, its heartbeat, what it owns.

Identity: a worker id made at start (`new_worker_id`), held as a lease of kind "worker" on
itself. Heartbeat: every third of the lease length (PERCL_LEASE_SECONDS, default 15 s) one
statement renews every lease the worker holds, so a worker with ten thousand legs costs the
database one UPDATE per heartbeat, not ten thousand. A worker that stops (kill -9, a machine
gone, a stalled loop) stops renewing, and its leases run out after at most one lease length.

The expiry scan runs at start and then every heartbeat, in a task of its own (closing a dead
worker's hundreds of calls must never hold up the renewal of this worker's own leases, or this
worker would look dead in turn): it lists leases that ran out, takes the dead workers' own
leases first, then, leaving out the leases of any worker that renewed meanwhile (alive again:
`renew` fences a worker by its own lease alone), takes those of each kind over in one statement
(only one worker wins each), and hands each it won to the handler registered for
its kind (`on_expired`), `failover_concurrency` at a time, which tidies up: the calls a dead
worker owned are closed (engine/calls.py); then it lets go of them in one statement. Leases with
nothing to tidy (a live-call count, a room) are deleted in one statement. A dead worker's own
lease is reported and removed. A scan that found SCAN_LIMIT leases is followed by another at
once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from percl.domain.clock import Clock
from percl.domain.json import JsonValue
from percl.engine.ports import Bus, Lease, LeaseKind, Leases, Rate, SharedLimits
from percl.engine.workers.forwarding import Arguments, Forwarder, Operation, OwnerGone
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner

log = logging.getLogger("percl.engine.workers")

#: Expired leases handled per scan (the next heartbeat takes the rest).
SCAN_LIMIT = 500
#: The default of WorkerSettings.failover_concurrency (PERCL_FAILOVER_CONCURRENCY).
SCAN_CONCURRENCY = 32
#: The bus channel on which a worker says it changed a cached record (an account, an
#: application, a number): every other worker drops its cached copies (store/sql/store.py).
CACHE_CHANNEL = "percl_cache"

#: Takes over what a dead worker left under one expired lease (called with that lease).
ExpiredHandler = Callable[[Lease], Awaitable[None]]


def new_worker_id() -> str:
    """A fresh worker id: "wk" + 24 lowercase hex digits (a bus channel name once prefixed)."""
    return "wk" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How workers share a database (docs/WORKERS.md)."""

    lease_s: float = 15.0  # PERCL_LEASE_SECONDS: a silent worker's leases run out after this
    forward_timeout_s: float = 5.0  # PERCL_FORWARD_TIMEOUT_MS: how long an owner has to answer
    #: PERCL_FAILOVER_CONCURRENCY: a dead worker's leases tidied at once (each holds a database
    #: connection meanwhile), and its calls' final webhooks in flight at once.
    failover_concurrency: int = SCAN_CONCURRENCY

    @property
    def heartbeat_s(self) -> float:
        return self.lease_s / 3


class Cluster(TaskOwner):
    """This worker's membership of the cluster. Use as `async with Cluster(...) as cluster:`
    (the bus must be open); leaving stops the heartbeat and gives up the worker's own lease."""

    def __init__(self, leases: Leases, bus: Bus, clock: Clock, settings: WorkerSettings,
                 *, worker_id: str | None = None, limits: SharedLimits | None = None) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.leases = leases
        #: Limits counted for the whole cluster (live calls, dial pacing, the REST allowance);
        #: None: each worker counts its own (a test's cluster without a database).
        self.limits = limits
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self._group = OwnedTaskGroup("Cluster")
        self.forwarder = Forwarder(bus, clock, self.worker_id, self._group.spawn,
                                   timeout_s=settings.forward_timeout_s)
        self._expired: dict[LeaseKind, ExpiredHandler] = {LeaseKind.WORKER: self._worker_gone}
        #: Kinds whose expired leases need no tidying of their own (a live-call count; a room
        #: or a queue, whose members' legs are closed through their call leases): deleted at once.
        self._dropped_kinds = {LeaseKind.LIVE, LeaseKind.CONFERENCE, LeaseKind.QUEUE}
        #: Workers this one saw stop renewing (oldest first), for the console and tests.
        self.dead_workers: list[str] = []
        self._peer_changed: Callable[[], None] | None = None
        self._fenced: Callable[[], None] | None = None
        self._scanning = asyncio.Lock()

    async def __aenter__(self) -> Cluster:
        await super().__aenter__()
        try:
            await self.leases.acquire(LeaseKind.WORKER, self.worker_id, self.worker_id,
                                      now=self.clock.now(), until=self._until())
            await self.forwarder.start()
            await self.bus.subscribe(CACHE_CHANNEL, self._cache_message)
        except BaseException:
            await self._group.close()
            raise
        self._group.spawn(self._heartbeat())
        self._group.spawn(self._expiry())
        return self

    async def _close(self, exc: BaseException | None) -> None:
        await self._group.close()
        await self.bus.unsubscribe(CACHE_CHANNEL)
        await self.forwarder.stop()
        await self.leases.release(LeaseKind.WORKER, self.worker_id, self.worker_id)

    def _until(self) -> float:
        return self.clock.now() + self.settings.lease_s

    # ------------------------------------------------------------------ ownership

    async def own(self, kind: LeaseKind, key: str) -> bool:
        """Take (kind, key) for this worker; False when another worker holds it."""
        return await self.leases.acquire(kind, key, self.worker_id, now=self.clock.now(),
                                         until=self._until())

    async def disown(self, kind: LeaseKind, key: str) -> None:
        await self.leases.release(kind, key, self.worker_id)

    async def transfer(self, kind: LeaseKind, key: str, to: str) -> bool:
        """Hand this worker's (kind, key) to worker `to` (False: this worker did not hold it)."""
        return await self.leases.transfer(kind, key, self.worker_id, to, now=self.clock.now(),
                                          until=self._until())

    async def transfer_from(self, kind: LeaseKind, key: str, worker_id: str) -> bool:
        """Take (kind, key) from worker `worker_id`, which hands it over (False: it did not
        hold it unexpired)."""
        return await self.leases.transfer(kind, key, worker_id, self.worker_id,
                                          now=self.clock.now(), until=self._until())

    async def holder(self, kind: LeaseKind, key: str) -> str | None:
        return await self.leases.holder(kind, key, now=self.clock.now())

    async def alone(self) -> bool:
        """True when no other worker holds a live worker lease (this one is the first up)."""
        live = await self.leases.live(LeaseKind.WORKER, now=self.clock.now())
        return all(lease.owner == self.worker_id for lease in live)

    # ------------------------------------------------------------------ forwarding

    def serve(self, name: str, operation: Operation) -> None:
        """Answer other workers' requests named `name` (see forwarding.py)."""
        self.forwarder.register(name, operation)

    async def ask_owner(self, kind: LeaseKind, key: str, name: str,
                        arguments: Arguments) -> JsonValue:
        """Run `name` on the worker that owns (kind, key). Raises OwnerGone when nobody else
        owns it (no live lease, or it is this worker's) or the owner does not answer in time,
        and the ApiError the owner raised."""
        owner = await self.holder(kind, key)
        if owner is None or owner == self.worker_id:
            raise OwnerGone(f"no other worker owns {kind.value} {key}")
        return await self.forwarder.ask(owner, name, arguments)

    # ------------------------------------------------------------------ shared limits

    async def enter_live(self, account_id: str, call_id: str, limit: int) -> bool:
        """Count `call_id` as live for its account across the cluster; False past `limit`.
        Held as a lease of this worker (renewed by the heartbeat): `leave_live` when it ends."""
        assert self.limits is not None
        return await self.limits.enter_live(account_id, call_id, self.worker_id, limit=limit,
                                            now=self.clock.now(), until=self._until())

    async def leave_live(self, account_id: str, call_id: str) -> None:
        assert self.limits is not None
        await self.limits.leave_live(account_id, call_id, self.worker_id)

    async def reserve(self, key: str, rate: Rate) -> float:
        """Seconds until the cluster-wide turn booked now for `key` at `rate` (SharedLimits)."""
        assert self.limits is not None
        return await self.limits.reserve(key, rate, now=self.clock.now())

    async def spend(self, key: str, rate: Rate) -> float:
        """0.0 when one event of `key`'s cluster-wide allowance was spent, else the wait."""
        assert self.limits is not None
        return await self.limits.spend(key, rate, now=self.clock.now())

    async def _sweep(self) -> None:
        """Drop rate rows back at their full allowance (each worker does; a DELETE that finds
        nothing costs one round trip per heartbeat)."""
        if self.limits is None:
            return
        try:
            await self.limits.sweep(self.clock.now())
        except Exception:  # the rows wait for the next beat
            log.exception("worker %s: sweeping shared rates failed", self.worker_id)

    # ------------------------------------------------------------------ cached records

    def on_peer_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` when another worker changed a cached record (drop the cache)."""
        self._peer_changed = callback

    def cached_changed(self) -> None:
        """This worker committed a change to a cached record: tell the others (in a task)."""
        if self._group.running:
            self._group.spawn(self._announce())

    async def _announce(self) -> None:
        try:
            await self.bus.publish(CACHE_CHANNEL, {"from": self.worker_id})
        except Exception:  # the others keep a stale copy until their next restart: say so
            log.exception("worker %s: could not announce a changed record", self.worker_id)

    def _cache_message(self, message: JsonValue) -> None:
        if (isinstance(message, Mapping) and message.get("from") != self.worker_id
                and self._peer_changed is not None):
            self._peer_changed()

    # ------------------------------------------------------------------ heartbeat, expiry

    def on_expired(self, kind: LeaseKind, handler: ExpiredHandler) -> None:
        """Hand expired leases of `kind` to `handler` once this worker took them (one per
        kind); the scan lets go of them after the handler returned."""
        self._expired[kind] = handler
        self._dropped_kinds.discard(kind)

    async def _heartbeat(self) -> None:
        while True:
            await self.clock.sleep(self.settings.heartbeat_s)
            try:
                await self.renew()
            except Exception:
                log.exception("worker %s: lease renewal failed", self.worker_id)
            await self._sweep()

    async def _expiry(self) -> None:
        while True:
            found = 0
            try:
                found = await self.scan()
            except Exception:  # the database may be briefly away: try again next beat
                log.exception("worker %s: expiry scan failed", self.worker_id)
            if found < SCAN_LIMIT:  # else more are waiting: go on at once
                await self.clock.sleep(self.settings.heartbeat_s)

    def on_fenced(self, callback: Callable[[], None]) -> None:
        """Call `callback` (once) when this worker finds that another declared it dead (see
        `renew`): the process should stop at once, as if killed (percl serve exits with
        EXIT_FENCED and `--workers N` starts the worker again)."""
        self._fenced = callback

    async def renew(self) -> None:
        """Renew every lease of this worker.

        A worker whose own lease is gone afterwards was declared dead by another worker's
        expiry scan (it stalled, or lost the database, for longer than a lease), which has
        taken, or is taking, its calls over: closed them, sent their final webhooks. Going on
        would run legs twice and write their records again, so with an `on_fenced` callback
        the worker stops (fail-stop: what it still owns expires and is taken over like a
        killed worker's). Without one it takes its lease again (a test's cluster)."""
        now = self.clock.now()
        await self.leases.renew(self.worker_id, now=now, until=self._until())
        if await self.holder(LeaseKind.WORKER, self.worker_id) == self.worker_id:
            return
        if self._fenced is not None:
            log.critical("worker %s: another worker declared it dead (no lease renewal for "
                         "over %g s) and took its calls over; this worker stops now",
                         self.worker_id, self.settings.lease_s)
            fenced, self._fenced = self._fenced, None
            fenced()
            return
        log.warning("worker %s: its own lease had run out; taken again", self.worker_id)
        await self.own(LeaseKind.WORKER, self.worker_id)

    async def scan(self) -> int:
        """Take over every expired lease of another worker (up to SCAN_LIMIT) and tidy it up
        (see the module doc); returns how many were found. A lease of a kind nobody handles is
        left for a worker that does."""
        # One scan at a time: taking a lease this worker holds succeeds again, so two scans
        # would each handle the same lease.
        async with self._scanning:
            now = self.clock.now()
            found = await self.leases.expired(now, limit=SCAN_LIMIT)
            listed = len(found)
            workers = [lease for lease in found
                       if lease.kind is LeaseKind.WORKER and lease.owner != self.worker_id]
            if workers:  # first: a worker is dead only once its own lease is taken
                await self._tidy(LeaseKind.WORKER, self._expired[LeaseKind.WORKER], workers, now)
            # A worker that renewed meanwhile (it had stalled) holds its own lease again, and
            # with it every other lease it held: those of it listed here are not taken. Had
            # they been, it would go on without them, undetected (its fencing is its own
            # lease: `renew`).
            alive = {lease.key for lease in await self.leases.live(LeaseKind.WORKER, now=now)
                     if lease.owner == lease.key}
            found = [lease for lease in found if lease.kind is not LeaseKind.WORKER
                     and lease.owner != self.worker_id and lease.owner not in alive]
            keys: dict[LeaseKind, list[str]] = {}
            for lease in found:
                keys.setdefault(lease.kind, []).append(lease.key)
            for kind, of_kind in keys.items():
                if kind in self._dropped_kinds:
                    await self.leases.drop_expired(kind, of_kind, now=now)
                elif (handler := self._expired.get(kind)) is not None:
                    await self._tidy(kind, handler, [
                        lease for lease in found if lease.kind is kind], now)
        return listed

    async def _tidy(self, kind: LeaseKind, handler: ExpiredHandler, expired: list[Lease],
                    now: float) -> None:
        """Take `expired` leases of `kind` in one statement, hand those won to `handler`
        (failover_concurrency at a time), then let go of them in one statement."""
        won = set(await self.leases.take_expired(kind, [lease.key for lease in expired],
                                                 self.worker_id, now=now, until=self._until()))
        gate = asyncio.Semaphore(self.settings.failover_concurrency)

        async def handle(lease: Lease) -> None:
            async with gate:
                await handler(lease)

        # Several at a time: closing a dead worker's call is a few statements (its webhook is
        # sent in the background), so one by one a worker with hundreds of calls took minutes.
        done = await asyncio.gather(*(handle(lease) for lease in expired if lease.key in won),
                                    return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                log.error("worker %s: taking over an expired lease failed", self.worker_id,
                          exc_info=outcome)
        await self.leases.release_all(kind, sorted(won), self.worker_id)

    async def take_over(self, lease: Lease) -> bool:
        """Take an expired lease for this worker (False: another worker was first)."""
        return await self.own(lease.kind, lease.key)

    async def _worker_gone(self, lease: Lease) -> None:
        # Taken by the scan already, which lets go of it after this.
        self.dead_workers.append(lease.key)
        log.warning("worker %s stopped renewing its leases: taking over what it owned",
                    lease.key)


__all__ = ["Cluster", "OwnerGone", "WorkerSettings", "new_worker_id"]
