"""The bus (engine/ports/bus.py) on NATS (PERCL_BUS=nats://...): the same contract as the
PostgreSQL bus (tests/store/test_pgbus.py), between two NatsBus instances as two workers hold
them, against a real nats-server (Debian's `nats-server`) started on a free loopback port as an
ordinary process and stopped by its PID; skipped with the reason where none is installed."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from percl.config import from_sources
from percl.engine.ports import BusUnavailable, MessageTooLarge
from percl.engine.ports.bus import MAX_PAYLOAD
from percl.errors import ConfigError
from percl.store.natsbus import NatsBus
from tests.store.test_pgbus import Inbox


def _nats_server() -> str:
    found = shutil.which("nats-server") or next(
        (str(p) for p in (Path("/usr/sbin/nats-server"), Path("/usr/bin/nats-server"))
         if p.exists()), None)
    if found is None:
        pytest.skip("no nats-server installed (Debian: apt-get install nats-server)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self) -> None:
        self.bin, self.port = _nats_server(), _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.bin, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):  # until it accepts connections
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            self.proc.wait(0.05) if self.proc.poll() is not None else _pause()
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _pause() -> None:
    import time

    time.sleep(0.05)  # waiting for a server process to listen: real time by nature


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.start()
    yield s
    s.stop()


@pytest.fixture
async def two_buses(server: Server) -> AsyncIterator[tuple[NatsBus, NatsBus]]:
    a, b = NatsBus(server.url), NatsBus(server.url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_two_workers_exchange_messages_in_order(two_buses: tuple[NatsBus, NatsBus]) -> None:
    a, b = two_buses
    to_b, to_a = Inbox(), Inbox()
    await b.subscribe("percl_w_b", to_b)
    await a.subscribe("percl_w_a", to_a)
    for i in range(200):
        await a.publish("percl_w_b", {"n": i, "text": "é\u2028"})
    assert await to_b.wait(200) == [{"n": i, "text": "é\u2028"} for i in range(200)]
    await b.publish("percl_w_a", ["back", 1, None, True, 2.5])
    assert await to_a.wait(1) == [["back", 1, None, True, 2.5]]
    assert to_b.got[200:] == []  # b hears only its own channel


async def test_a_worker_hears_its_own_messages(two_buses: tuple[NatsBus, NatsBus]) -> None:
    a, _ = two_buses
    inbox = Inbox()
    await a.subscribe("percl_cache", inbox)
    await a.publish("percl_cache", {"from": "me"})
    assert await inbox.wait(1) == [{"from": "me"}]


async def test_a_message_over_the_limit_is_refused_and_nothing_is_sent(
        two_buses: tuple[NatsBus, NatsBus]) -> None:
    a, b = two_buses
    inbox = Inbox()
    await b.subscribe("big", inbox)
    with pytest.raises(MessageTooLarge):
        await a.publish("big", "x" * (MAX_PAYLOAD + 1))
    await a.publish("big", "x" * (MAX_PAYLOAD - 2))
    assert await inbox.wait(1) == ["x" * (MAX_PAYLOAD - 2)]
    with pytest.raises(ValueError, match="channel"):
        await a.publish("Bad-Name", 1)


async def test_unsubscribed_channels_are_not_delivered(two_buses: tuple[NatsBus, NatsBus]) -> None:
    a, b = two_buses
    first, second = Inbox(), Inbox()
    await b.subscribe("one", first)
    await b.subscribe("two", second)
    await b.unsubscribe("one")
    await a.publish("one", "lost")
    await a.publish("two", "kept")
    assert await second.wait(1) == ["kept"]
    assert first.got == []


async def test_subscribers_are_back_after_the_server_restarts(server: Server) -> None:
    a, b = NatsBus(server.url), NatsBus(server.url)
    await a.open()
    await b.open()
    try:
        inbox = Inbox()
        await b.subscribe("percl_w_b", inbox)
        await a.publish("percl_w_b", 1)
        await inbox.wait(1)
        server.stop()
        async with asyncio.timeout(10):
            while a._require().is_connected:
                await asyncio.sleep(0.01)
        with pytest.raises(BusUnavailable):  # not sent, and said so
            await a.publish("percl_w_b", "while down")
        server.start()
        async with asyncio.timeout(20):  # the clients reconnect and resubscribe by themselves
            while not (a._require().is_connected and b._require().is_connected):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # b's resubscription reaches the server before a publishes
        await a.publish("percl_w_b", 2)
        assert await inbox.wait(2) == [1, 2]
    finally:
        await a.close()
        await b.close()


async def test_an_unreachable_server_is_bus_unavailable() -> None:
    bus = NatsBus(f"nats://127.0.0.1:{_free_port()}", connect_timeout_s=1)
    with pytest.raises(BusUnavailable):
        await bus.open()


def test_percl_bus_is_empty_or_a_nats_url() -> None:
    assert from_sources({}).bus == ""
    assert from_sources({"PERCL_BUS": "nats://10.0.0.5:4222"}).bus == "nats://10.0.0.5:4222"
    with pytest.raises(ConfigError, match="PERCL_BUS"):
        from_sources({"PERCL_BUS": "redis://x"})


async def test_two_workers_forward_a_request_over_nats(server: Server) -> None:
    """The Cluster's request/response (engine/workers/forwarding.py) on this bus: what a worker
    runs for another worker's REST request."""
    from percl.domain.json import JsonValue
    from percl.engine.ports import LeaseKind
    from percl.engine.workers.cluster import Cluster, WorkerSettings
    from percl.runtime.clock import SystemClock
    from percl.store.memory_leases import MemoryLeases

    leases, clock, settings = MemoryLeases(), SystemClock(), WorkerSettings(forward_timeout_s=5)
    bus_a, bus_b = NatsBus(server.url), NatsBus(server.url)
    await bus_a.open()
    await bus_b.open()
    try:
        async with (Cluster(leases, bus_a, clock, settings, worker_id="wka") as a,
                    Cluster(leases, bus_b, clock, settings, worker_id="wkb") as b):
            async def echo(arguments: object) -> JsonValue:
                return {"ran_on": a.worker_id}

            a.serve("echo", echo)
            assert await a.own(LeaseKind.CALL, "CA1")
            assert await b.ask_owner(LeaseKind.CALL, "CA1", "echo", {}) == {"ran_on": "wka"}
    finally:
        await bus_a.close()
        await bus_b.close()


def test_a_cluster_uses_the_nats_bus_when_percl_bus_names_one() -> None:
    from percl.app import cluster_for
    from percl.config import Settings
    from percl.runtime.clock import SystemClock
    from percl.store.postgres import PostgresStore

    url = "postgresql+asyncpg://percl@127.0.0.1:1/none"  # never opened
    cluster = cluster_for(Settings(db=url, bus="nats://127.0.0.1:4222"), PostgresStore(url),
                          SystemClock())
    assert cluster is not None and isinstance(cluster.bus, NatsBus)
