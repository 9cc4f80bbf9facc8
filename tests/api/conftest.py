"""REST API fixtures and doubles: a dict-backed Store, a recording CallControl, fixed numbers.

FakeStore is a second implementation of the Store protocol (the real one is SqliteStore); it is
deliberately plain so API tests stay fast and failures point at the API, not at SQL.
"""

from __future__ import annotations

import dataclasses
import itertools
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import freeclimb
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from percl.api import ApiDeps, create_api
from percl.domain.clock import Clock
from percl.domain.enums import CallDirection, CallStatus
from percl.domain.ids import (
    ACCOUNT,
    CALL,
    IdGenerator,
    SequentialIds,
    new_api_key,
    new_signing_secret,
)
from percl.domain.logquery import matches
from percl.domain.records import Account, Application, Call, IncomingNumber, LogEntry
from percl.engine.ports import AvailableNumber, CallFilter, LogFilter, LogPosition, Store
from percl.engine.service import MakeCallRequest
from percl.errors import NotFound
from percl.testing import FakeClock


class FakeStore:
    """The Store protocol over dicts. Insertion order is kept for stable listings."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.applications: dict[str, Application] = {}
        self.numbers: dict[str, IncomingNumber] = {}
        self.calls: dict[str, Call] = {}
        self.logs: list[tuple[int, LogEntry]] = []
        self._seq = itertools.count()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def put_account(self, account: Account) -> None:
        self.accounts[account.account_id] = account

    async def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    async def list_accounts(self) -> Sequence[Account]:
        return list(self.accounts.values())

    async def put_application(self, app: Application) -> None:
        self.applications[app.application_id] = app

    async def get_application(self, application_id: str) -> Application | None:
        return self.applications.get(application_id)

    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]:
        found = [
            a
            for a in self.applications.values()
            if a.account_id == account_id and (alias is None or a.alias == alias)
        ]
        return sorted(found, key=lambda a: (a.date_created, a.application_id))  # as SQL sorts

    async def delete_application(self, application_id: str) -> None:
        self.applications.pop(application_id, None)

    async def put_number(self, number: IncomingNumber) -> None:
        self.numbers[number.phone_number_id] = number

    async def get_number(self, phone_number_id: str) -> IncomingNumber | None:
        return self.numbers.get(phone_number_id)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        return next((n for n in self.numbers.values() if n.phone_number == phone_number), None)

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]:
        found = [n for n in self.numbers.values() if n.account_id == account_id]
        return sorted(found, key=lambda n: (n.date_created, n.phone_number_id))  # as SQL sorts

    async def delete_number(self, phone_number_id: str) -> None:
        self.numbers.pop(phone_number_id, None)

    async def put_call(self, call: Call) -> None:
        self.calls[call.call_id] = call

    async def get_call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    async def list_calls(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        found = [c for c in self.calls.values() if c.account_id == account_id and _keeps(flt, c)
                 and (before is None or (c.date_created, c.call_id) < before)]
        ordered = sorted(found, key=lambda c: (c.date_created, c.call_id), reverse=True)
        return ordered[offset:] if limit is None else ordered[offset : offset + limit]

    async def count_calls(self, account_id: str, flt: CallFilter) -> int:
        return len(await self.list_calls(account_id, flt))

    async def live_calls(self) -> Sequence[Call]:
        return [c for c in self.calls.values() if c.status.is_live]

    async def add_log(self, entry: LogEntry) -> None:
        self.logs.append((next(self._seq), entry))

    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        return [e for _, e in self._matching_logs(account_id, flt)]

    async def page_logs(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        found = self._matching_logs(account_id, flt)
        return [row for row in found if before is None or row[0] < before][:limit]

    async def count_logs(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        return min(cap, len(self._matching_logs(account_id, flt)))

    async def prune_logs(self, *, older_than: int, keep: int) -> int:
        kept = [row for row in self.logs[-keep:] if row[1].timestamp >= older_than] if keep else []
        gone = len(self.logs) - len(kept)
        self.logs = kept
        return gone

    def _matching_logs(self, account_id: str, flt: LogFilter) -> list[tuple[LogPosition, LogEntry]]:
        found = [
            ((e.timestamp, seq), e)
            for seq, e in self.logs
            if e.account_id == account_id
            and (flt.call_id is None or e.call_id == flt.call_id)
            and (flt.level is None or e.level == flt.level)
            and (flt.query is None or matches(flt.query, e))
        ]
        found.sort(key=lambda row: row[0], reverse=True)
        return found


def _keeps(flt: CallFilter, call: Call) -> bool:
    checks = (
        not flt.active or call.status.is_live,
        flt.to is None or call.to == flt.to,
        flt.from_ is None or call.from_ == flt.from_,
        flt.status is None or call.status == flt.status,
        flt.start_time_from is None
        or (call.start_time is not None and call.start_time >= flt.start_time_from),
        flt.end_time_to is None or (call.end_time is not None and call.end_time <= flt.end_time_to),
        flt.parent_call_id is None or call.parent_call_id == flt.parent_call_id,
        not flt.application_ids or call.application_id in flt.application_ids,
    )
    return all(checks)


class FakeCallControl:
    """Records every request; make_call stores and returns a queued outboundAPI leg."""

    def __init__(self, store: Store, clock: Clock, ids: IdGenerator) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.made: list[tuple[Account, MakeCallRequest]] = []
        self.updates: list[tuple[str, str]] = []

    async def make_call(self, account: Account, request: MakeCallRequest) -> Call:
        self.made.append((account, request))
        now = self.clock.now()
        call = Call(
            call_id=self.ids.new(CALL),
            account_id=account.account_id,
            from_=request.from_,
            to=request.to,
            direction=CallDirection.OUTBOUND_API,
            application_id=request.application_id,
            parent_call_id=request.parent_call_id,
            request_id=request.request_id,
            date_created=now,
            date_updated=now,
        )
        await self.store.put_call(call)
        return call

    async def update_call(self, account: Account, call_id: str, status: str) -> None:
        call = await self.store.get_call(call_id)
        if call is None or call.account_id != account.account_id or call.status.is_final:
            raise NotFound(f"Call {call_id} not found or no longer live")
        self.updates.append((call_id, status))
        ended = dataclasses.replace(
            call, status=CallStatus(status), end_time=self.clock.now(), revision=call.revision + 1
        )
        await self.store.put_call(ended)


class FixedInventory:
    """A NumberInventory over a fixed list."""

    def __init__(self, numbers: Sequence[AvailableNumber]) -> None:
        self.numbers = tuple(numbers)

    def available_numbers(self) -> Sequence[AvailableNumber]:
        return self.numbers

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        return next((n for n in self.numbers if n.phone_number == phone_number), None)


INVENTORY = FixedInventory(
    [
        AvailableNumber("+13125550101", "IL", "US"),
        AvailableNumber("+13125550102", "IL", "US", sms_enabled=False),
        AvailableNumber("+12125550103", "NY", "US"),
        AvailableNumber("+14165550104", "ON", "CA"),
        AvailableNumber("+18005550105", "", "US", toll_free=True),
        AvailableNumber("+18005550106", "", "US", toll_free=True),
        AvailableNumber("+13125550107", "IL", "US"),
    ]
)


# --------------------------------------------------------------------------- fixtures

BASE = "http://percl.test/apiserver"


def make_account(ids: IdGenerator, now: float) -> Account:
    return Account(
        account_id=ids.new(ACCOUNT),
        api_key=new_api_key(),
        signing_secret=new_signing_secret(),
        date_created=now,
        date_updated=now,
    )


def mounted(deps: ApiDeps) -> Starlette:
    """The REST app where the lead mounts it, so paths and nextPageUri are tested as served."""
    return Starlette(routes=[Mount("/apiserver", app=create_api(deps))])


@dataclasses.dataclass
class World:
    """One API over fakes, with two accounts (`account` and `other`)."""

    clock: FakeClock
    ids: SequentialIds
    store: FakeStore
    calls: FakeCallControl
    deps: ApiDeps
    account: Account
    other: Account

    def client(self, account: Account | None = None, **kwargs: Any) -> httpx.AsyncClient:
        who = account or self.account
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=mounted(self.deps), raise_app_exceptions=False),
            base_url=BASE,
            auth=(who.account_id, who.api_key),
            **kwargs,
        )


def build_world(page_size: int = 100) -> World:
    clock = FakeClock()
    ids = SequentialIds("api-tests")
    store = FakeStore()
    calls = FakeCallControl(store, clock, ids)
    deps = ApiDeps(
        store=store, clock=clock, ids=ids, calls=calls, inventory=INVENTORY, page_size=page_size
    )
    account, other = make_account(ids, clock.now()), make_account(ids, clock.now())
    store.accounts[account.account_id] = account
    store.accounts[other.account_id] = other
    return World(clock, ids, store, calls, deps, account, other)


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with world.client() as c:
        yield c


# --------------------------------------------------------------------------- the SDK over uvicorn


@dataclasses.dataclass
class SdkServer:
    """A real uvicorn on 127.0.0.1 serving the API over fakes; one per test session."""

    world: World
    port: int

    def new_account(self) -> Account:
        """A fresh account, so SDK tests sharing the server do not see each other's data."""
        account = make_account(self.world.ids, self.world.clock.now())
        self.world.store.accounts[account.account_id] = account
        return account

    def api(self, account: Account, api_key: str | None = None) -> freeclimb.DefaultApi:
        cfg = freeclimb.Configuration(
            host=f"http://127.0.0.1:{self.port}/apiserver",
            username=account.account_id,
            password=api_key if api_key is not None else account.api_key,
        )
        return freeclimb.DefaultApi(freeclimb.ApiClient(cfg))


SDK_PAGE_SIZE = 3


@pytest.fixture(scope="session")
def sdk_server() -> Iterator[SdkServer]:
    world = build_world(page_size=SDK_PAGE_SIZE)
    # Bind first: the port is known at once and early connections wait in the backlog, so the
    # tests never need to poll for "server started".
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(mounted(world.deps), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield SdkServer(world, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
