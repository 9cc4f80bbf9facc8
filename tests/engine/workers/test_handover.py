"""A leg handed over to the worker running its conference's room (issue 19), in `make test`: the
e2e kit's two workers on one PostgreSQL (tests/e2e/workers_kit.py: one simulated world, the
in-process bus) run the spanning flows of tests/e2e/test_conferences_workers.py; and when the
room's worker cannot take the leg (its phone network is another process's), the leg ends with
perclProcessingError and a log line saying why, and nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from percl.domain.enums import CallEndedReason, CallStatus
from percl.engine.ports import LeaseKind
from percl.telephony.sim.phones import Leg
from percl.testing.harness import Harness
from tests import postgres
from tests.e2e import test_conferences_workers as flows
from tests.e2e.conference_kit import AsyncApp
from tests.e2e.workers_kit import TwoWorkers


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


@pytest.mark.parametrize("flow", [
    flows.test_a_rest_call_joins_a_conference_a_phone_started,
    flows.test_a_dequeued_caller_joins_the_agents_conference,
    flows.test_an_outdial_child_and_its_parent_join_a_conference_running_elsewhere,
])
async def test_conference_flows_spanning_two_workers(
        kit: TwoWorkers, flow: Callable[[Harness], Awaitable[None]]) -> None:
    await flow(kit)


async def test_a_leg_the_rooms_worker_cannot_take_ends_with_a_reason(kit: TwoWorkers) -> None:
    h = kit
    in_transit: dict[str, Leg] = {}
    h.rest_worker.sim._in_transit = in_transit  # the REST worker's phones: another process's
    app = AsyncApp(h)
    rooms: list[str] = []

    async def created(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    app.on("voice", [{"CreateConference": {"actionUrl": app.url("/created/a")}}])
    app.on("created", created)
    app.on("join", lambda _b, _a: flows._join(rooms[0]))
    app.on("status", [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    a = await h.sim_call(flows.A, flows.FC)
    await h.wait_for(lambda: rooms, within=30)
    b = await flows.rest_call(h, flows.B, app.url("/join/b"), app.url("/status/b"))
    call = await h.run_until_ended(b, limit_s=60)
    assert (call.status, call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.PERCL_PROCESSING_ERROR)
    messages = [e.message for e in await h.logs(b)]
    assert any("could not move to percl worker" in m and "simulated network" in m
               for m in messages), messages
    assert flows.call_statuses(h, b) == ["completed"]
    assert await flows.participants(h, rooms[0]) == [a]  # the room is as it was
    assert (await h.call(a)).status is CallStatus.IN_PROGRESS
    assert not in_transit  # the leg went back to its network before it ended
    await h.clock.settle()
    assert h.rest_worker.cluster is not None
    assert await h.rest_worker.cluster.holder(LeaseKind.CALL, b) is None  # released by its owner


async def test_a_call_recording_stops_and_is_saved_when_its_leg_moves(kit: TwoWorkers) -> None:
    h = kit
    app = AsyncApp(h)
    rooms: list[str] = []

    async def created(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    async def join(_body: dict[str, Any], _: str) -> Any:
        return [{"StartRecordCall": {}}, {"Say": {"text": "joining"}},
                {"AddToConference": {"conferenceId": rooms[0]}}]

    app.on("voice", [{"CreateConference": {"actionUrl": app.url("/created/a")}}])
    app.on("created", created)
    app.on("join", join)
    app.on("status", [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    await h.sim_call(flows.A, flows.FC)
    await h.wait_for(lambda: rooms, within=30)
    b = await flows.rest_call(h, flows.B, app.url("/join/b"), app.url("/status/b"))
    await h.wait_for(lambda: flows.worker_of(h, b) == "calls", within=30)  # moved
    await h.clock.settle()
    [recording] = await h.recordings(b)
    assert recording.duration_ms > 0 and h.recording_wav(recording.recording_id)
