"""gRPC channels shared by the streams to one agent (streaming/grpc.py ChannelPool): one HTTP/2
connection carries up to STREAMS_PER_CHANNEL streams, a channel closes with its last stream or
with the platform, and a channel that failed to connect is not handed to new streams."""

from __future__ import annotations

import grpc
import pytest

from percl.streaming import grpc as g


class FakeChannel:
    def __init__(self, target: str, tls: bool) -> None:
        self.target, self.tls = target, tls
        self.state = grpc.ChannelConnectivity.READY
        self.closed = 0

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self.state

    async def close(self, grace: float | None = None) -> None:
        self.closed += 1


def pool() -> tuple[g.ChannelPool, list[FakeChannel]]:
    opened: list[FakeChannel] = []

    def open_channel(target: str, tls: bool) -> FakeChannel:
        opened.append(FakeChannel(target, tls))
        return opened[-1]

    return g.ChannelPool(open_channel), opened  # type: ignore[arg-type]


async def test_streams_to_one_agent_share_a_channel_closed_with_the_last() -> None:
    channels, opened = pool()
    first, release_first = channels.acquire("127.0.0.1:50051", False)
    second, release_second = channels.acquire("127.0.0.1:50051", False)
    assert first is second and len(opened) == 1
    await release_first()
    await release_first()  # a link closing twice gives its share back once
    assert opened[0].closed == 0
    await release_second()
    assert opened[0].closed == 1
    again, release = channels.acquire("127.0.0.1:50051", False)
    assert again is not first and len(opened) == 2  # a closed channel is not reused
    await release()


async def test_other_agents_and_tls_get_their_own_channels() -> None:
    channels, opened = pool()
    channels.acquire("a:443", True)
    channels.acquire("a:443", False)
    channels.acquire("b:443", True)
    assert [(c.target, c.tls) for c in opened] == [("a:443", True), ("a:443", False),
                                                    ("b:443", True)]


async def test_a_channel_carries_at_most_streams_per_channel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(g, "STREAMS_PER_CHANNEL", 2)
    channels, opened = pool()
    got = [channels.acquire("a:80", False)[0] for _ in range(5)]
    assert len(opened) == 3
    assert got == [opened[0], opened[0], opened[1], opened[1], opened[2]]


async def test_a_failed_channel_is_not_given_to_new_streams_and_closes_with_its_own() -> None:
    channels, opened = pool()
    failed, release = channels.acquire("a:80", False)
    opened[0].state = grpc.ChannelConnectivity.TRANSIENT_FAILURE
    fresh, _ = channels.acquire("a:80", False)
    assert fresh is not failed
    opened[0].state = grpc.ChannelConnectivity.READY  # even once it reconnects
    assert channels.acquire("a:80", False)[0] is fresh
    await release()
    assert opened[0].closed == 1 and opened[1].closed == 0


async def test_closing_the_pool_closes_every_channel_once() -> None:
    channels, opened = pool()
    _, release = channels.acquire("a:80", False)
    channels.acquire("b:80", False)
    await channels.close()
    await channels.close()
    assert [c.closed for c in opened] == [1, 1]
    await release()  # a link closing after the platform's close
    assert opened[0].closed == 1
