"""The end-to-end Harness as two percl workers on one PostgreSQL database (issue 19).

`pytest tests/e2e --pg-workers` gives every test's `h` fixture a `TwoWorkers`: the harness's own
platform (worker "calls") takes the calls placed from phones and the sim API, and a second
platform (worker "rest") on the same database answers every REST request (`h.rest`, the SDK,
`h.number_for`), so a REST update of a call is forwarded to the worker running it. A call created
by `POST /Calls` runs on the REST worker, as it would behind a load balancer.

What the two share, and why:
- the database (a fresh PostgreSQL database per test: tests/postgres.py), each worker with a
  PostgresStore of its own (its own pool and record cache, kept true by the bus);
- one FakeClock: both heartbeats and lease times run on it, so leases never expire by a
  difference of two clocks, and the tests' waits drive both workers;
- an in-process bus (engine/workers/local.py: LocalBus with the PostgreSQL bus's rules): a message
  in flight inside PostgreSQL's LISTEN/NOTIFY is invisible to the FakeClock's idea of "nothing
  left to do", so a test could move time past a forwarding deadline while the answer travels.
  LISTEN/NOTIFY itself is tested by tests/engine/workers/test_two_workers.py and
  tests/integration/test_workers_live.py;
- the webhook recorder (every webhook of either worker is in `h.webhooks`) and the record book;
- the simulated phones' programs: a phone is part of the simulated world, not of a worker, so a
  program set on one worker's network answers calls dialled from either; and legs: a leg that
  joins a conference whose room runs on the other worker is handed over to it (its phone moves
  to that worker's network: SimNetwork.share_world);
- the recordings folder (as workers on one machine share PERCL_RECORDINGS_DIR): a recording
  made on one worker is downloaded through the other.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx

from percl.app import Platform
from percl.config import Settings
from percl.domain.ids import SequentialIds
from percl.domain.records import Call
from percl.engine.workers.cluster import WorkerSettings
from percl.engine.workers.local import LocalBus
from percl.store.postgres import PostgresStore
from percl.telephony.sim.model import Transcript
from percl.testing.book import ObservedStore
from percl.testing.harness import REST_BASE, Harness
from percl.testing.sdk import InProcessPoolManager, LoopBridge, freeclimb_api
from percl.testing.tracked import Tracked

LEASE_S = 15.0


class TwoWorkers(Harness):
    """A Harness whose REST API is served by a second worker (see the module doc)."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self._recordings = tempfile.TemporaryDirectory(prefix="percl-recordings-")
        settings = replace(settings or Settings(db=url), db=url,
                           recordings_dir=settings.recordings_dir if settings and
                           settings.recordings_dir else self._recordings.name,
                           cluster=WorkerSettings(lease_s=LEASE_S, forward_timeout_s=5.0))
        super().__init__(settings=settings, store=PostgresStore(url))
        peers: list[LocalBus] = []
        # The harness's store and platform again, now with tracked leases and the in-process
        # bus (nothing was opened yet).
        self.store = ObservedStore(self._tracked_store(url), self.clock.tracker, self.book)
        self.platform = Platform(self.settings, clock=self.clock, ids=self.ids, store=self.store,
                                 transport=self.recorder, probe_media=False, bus=LocalBus(peers),
                                 tracker=self.clock.tracker)
        rest_store: Any = ObservedStore(self._tracked_store(url), self.clock.tracker, self.book)
        self.rest_worker = Platform(self.settings, clock=self.clock,
                                    ids=SequentialIds("percl-rest"), store=rest_store,
                                    transport=self.recorder, probe_media=False,
                                    bus=LocalBus(peers), tracker=self.clock.tracker)
        _reads_see_both(self.store, rest_store)
        _reads_see_both(rest_store, self.store)
        # Both render recordings in threads the FakeClock waits for, as the Harness's own does
        # (without it, time ran on while a take was saved: its date was seconds late).
        for worker in self.workers:
            worker.recordings.offload = self._tracked
        # One simulated world: a phone's program holds whichever worker dials it, and a leg
        # handed over to the other worker (a conference there) moves between the networks.
        self.rest_worker.sim.share_world(self.platform.sim)

    def _tracked_store(self, url: str) -> PostgresStore:
        """A store whose leases and shared limits count as work for FakeClock.settle() (the
        ObservedStore around it tracks only the store's own methods), so a lease being taken
        in PostgreSQL is never mistaken for a quiet moment."""
        store = PostgresStore(url)
        store.leases = Tracked(store.leases, self.clock.tracker)  # type: ignore[assignment]
        store.limits = Tracked(store.limits, self.clock.tracker)  # type: ignore[assignment]
        return store

    async def __aenter__(self) -> TwoWorkers:
        await super().__aenter__()
        await self.rest_worker.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.rest_worker.__aexit__(exc_type, exc, tb)
        finally:
            try:
                await super().__aexit__(exc_type, exc, tb)
            finally:
                self._recordings.cleanup()

    @property
    def workers(self) -> tuple[Platform, Platform]:
        return self.platform, self.rest_worker


    def _client(self, base: str) -> httpx.AsyncClient:
        if base not in self._clients:
            acc = self.account
            token = base64.b64encode(f"{acc.account_id}:{acc.api_key}".encode()).decode()
            worker = self.rest_worker if base == REST_BASE else self.platform
            self._clients[base] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=worker.asgi), base_url=base,
                headers={"Authorization": f"Basic {token}"})
        return self._clients[base]

    def freeclimb_api(self, bridge: LoopBridge | None = None, *, account_id: str | None = None,
                      api_key: str | None = None) -> Any:
        if self.loop is None:
            raise RuntimeError("the harness has not started: use it inside `async with`")
        pool = InProcessPoolManager(self.rest_worker.asgi, bridge or LoopBridge(self.loop))
        self._pools.append(pool)
        return freeclimb_api(pool, account_id or self.account.account_id,
                             api_key or self.account.api_key)

    def _live_anywhere(self, call_id: str) -> Callable[[], bool]:
        return lambda: not any(call_id in p.calls.sessions for p in self.workers)

    async def run_until_ended(self, call_id: str, limit_s: float = 3600) -> Call:
        ok = await self.clock.run_until(self._live_anywhere(call_id), limit_s=limit_s)
        call = await self.call(call_id)
        assert ok and call.status.is_final, f"call {call_id} still {call.status} after {limit_s}s"
        return call

    def transcript(self, call_id: str) -> Transcript | None:
        return (self.platform.sim.transcript(call_id)
                or self.rest_worker.sim.transcript(call_id))


def _reads_see_both(store: Any, other: Any) -> None:
    """`store`'s log reads flush `other`'s queued lines first. A read flushes only its own
    store's queue (10 ms of linger on PostgreSQL), so across two workers a line the other one
    logged a moment ago may not be written yet; the kit's tests read right after the act."""
    for name in ("list_logs", "page_logs", "count_logs"):
        read = getattr(store, name)

        async def after_flush(*args: Any, _read: Any = read, **kwargs: Any) -> Any:
            await other.flush_logs()
            return await _read(*args, **kwargs)

        setattr(store, name, after_flush)
