"""The webhook hot path (docs/BENCHMARKS.md fix 7): no timer task per attempt, headers not
copied on the way, and the FaultInjector's pass-through when no rule or fragment applies."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from percl.domain.enums import CallStatus, RequestType
from percl.domain.ids import SequentialIds
from percl.domain.records import Account
from percl.engine.ports import WebhookOutcome, WebhookRequest
from percl.testing.clock import FakeClock
from percl.webhooks import faults as faults_module
from percl.webhooks.dispatcher import WebhookDispatcher
from percl.webhooks.faults import Fault, FaultInjector, FaultKind
from percl.webhooks.transport import TransportResponse

from .conftest import RecordingSink, make_call

URL = "http://app.test/voice"
PERCL = b'[{"Say":{"text":"Hello"}}]'


class Spy:
    """A transport that records what it was handed and how many tasks were alive meanwhile."""

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.calls: list[tuple[str, Mapping[str, str]]] = []
        self.tasks_during_post: list[int] = []

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        self.calls.append((url, headers))
        await asyncio.sleep(0)  # let a timer task start, if one was made
        self.tasks_during_post.append(len(asyncio.all_tasks()))
        if self.hang:
            await asyncio.Event().wait()
        return TransportResponse(200, {}, PERCL)


def request(account: Account, url: str = URL) -> WebhookRequest:
    return WebhookRequest(request_type=RequestType.INBOUND_CALL, url=url, account=account,
                          call=make_call(status=CallStatus.RINGING))  # fmt: skip


async def test_an_attempt_runs_with_no_timer_task_and_leaves_no_timer(
    account: Account, sink: RecordingSink
) -> None:
    clock = FakeClock()
    deadlines: list[float | None] = []

    class Watching(Spy):
        async def post(self, url: str, body: bytes, headers: Mapping[str, str], *,
                       limit: int | None = None) -> TransportResponse:
            deadlines.append(clock.next_deadline())
            return await super().post(url, body, headers, limit=limit)

    spy = Watching()
    sender = WebhookDispatcher(spy, sink, clock, ids=SequentialIds(), timeout_s=7.0)
    before = len(asyncio.all_tasks())
    result = await sender.send(request(account))
    assert result.ok
    # The POST runs in the caller's task, the deadline is a clock timer (no task sleeps for it).
    assert spy.tasks_during_post == [before] and deadlines == [clock.now() + 7.0]
    await clock.settle()
    assert len(asyncio.all_tasks()) == before and clock.next_deadline() is None


async def test_the_logged_headers_are_the_ones_sent(account: Account, sink: RecordingSink) -> None:
    spy = Spy()
    await WebhookDispatcher(spy, sink, FakeClock(), ids=SequentialIds()).send(request(account))
    [(_, sent)] = spy.calls
    [entry] = sink.entries
    assert entry.metadata["requestHeaders"] == sent and "FreeClimb-Signature" in sent


async def test_a_timeout_does_not_leak_a_cancellation_into_the_caller(
    account: Account, sink: RecordingSink
) -> None:
    clock = FakeClock()
    sender = WebhookDispatcher(Spy(hang=True), sink, clock, timeout_s=2.0)

    async def send_then_sleep() -> WebhookOutcome:
        result = await sender.send(request(account))
        await asyncio.sleep(0)  # would raise CancelledError if the timer's cancel were still owed
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
        return result.outcome

    task = asyncio.create_task(send_then_sleep())
    await clock.advance(2.0)
    assert task.result() is WebhookOutcome.TIMEOUT


async def test_no_rule_and_no_fragment_passes_straight_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = Spy()
    injector = FaultInjector(spy, FakeClock())

    def must_not_parse(url: str) -> tuple[str, str | None]:
        raise AssertionError("the fast path parses no fragment")

    monkeypatch.setattr(faults_module, "split_fragment", must_not_parse)
    headers = {"Request-Id": "RQ1"}
    response = await injector.post(URL, b"{}", headers)
    assert response.status == 200 and spy.calls == [(URL, headers)]
    assert spy.calls[0][1] is headers  # handed on, not copied


async def test_a_rule_or_a_fragment_still_applies() -> None:
    spy = Spy()
    injector = FaultInjector(spy, FakeClock())
    assert (await injector.post(URL + "#percl-fault=error:503", b"{}", {})).status == 503
    injector.inject(URL, Fault(FaultKind.ERROR, status=502, times=1))
    assert (await injector.post(URL, b"{}", {})).status == 502
    assert (await injector.post(URL, b"{}", {})).status == 200 and len(spy.calls) == 1
